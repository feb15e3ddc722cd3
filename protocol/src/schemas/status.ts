/**
 * Device status, retained on `akb/v1/dev/{device}/status`. A device publishes a birth (`state: "online"`)
 * after connecting and registers a death (`state: "offline"`) as its MQTT last will before connecting, so
 * the death carries only what is known then. Birth and death of one connection share `session`, so a
 * reader can tell a late death of an earlier connection from the death of the current one (Sparkplug's
 * bdSeq idea). While a bundle is installed, the install agent (`akb-agent`, a process of its own) publishes
 * each change of its state as a third variant (`state: "updating"`), with its own session: readers that
 * track presence leave a device's online/offline state as it was.
 */
import { z } from 'zod';
import { parseOrThrow } from './issues.js';
import { DeviceId, EpochMillis, ProfileId, SemVer, Sha256Hex, Slug, Uint32, Text } from './common.js';

/** The protocol version this code speaks, as a birth's `versions.protocol` states it: "1.<minor>". */
export const PROTOCOL_VERSION = '1.4';

export const ModelVersion = z
  .strictObject({
    role: z
      .enum(['encoder', 'decoder', 'policy', 'vision-encoder', 'embedder'])
      .describe('What the model does (same roles as model cards).'),
    name: Slug.describe('Model name as in its model card.'),
    version: SemVer.describe('Model version as in its model card.'),
    sha256: Sha256Hex.optional().describe('SHA-256 of the ONNX bytes that are loaded.'),
  })
  .describe('One model the device has loaded.');
export type ModelVersion = z.infer<typeof ModelVersion>;

/** A capability token: `word` or `family:word`, e.g. `ota`, `kb-sync`, `link:serial`, `backend:onnxruntime-node-cpu`. */
export const Capability = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]*(?::[a-z0-9][a-z0-9.-]*)?$/, 'capability: word or family:word in lower case')
  .max(64)
  .describe('Capability token, e.g. "ota", "kb-sync", "link:serial", "backend:onnxruntime-node-cpu", "proto:1.0".');

const statusBase = {
  v: z.literal(1).describe('Message format version.'),
  device: DeviceId.describe('Id of the device this status is about (the same as in the topic).'),
  session: Uint32.describe('Connection number: tenths of a second since 2024-01-01 (mod 2^32) when the process started, +1 per reconnect; larger is newer; birth and death of one connection share it.'),
  ts: EpochMillis.describe('When the status was made (for a death: when the last will was registered, i.e. at connect).'),
};

export const StatusOnline = z
  .strictObject({
    ...statusBase,
    state: z.literal('online').describe('Birth: the device is connected and running.'),
    profile: ProfileId.describe('Device profile the runtime uses (detected or configured).'),
    bootTime: EpochMillis.describe('When the runtime process started.'),
    versions: z
      .strictObject({
        runtime: SemVer.describe('Version of the edge runtime (akb-edge).'),
        protocol: z
          .string()
          .regex(/^1\.\d{1,4}$/, 'protocol version: 1.<minor>')
          .describe('Protocol version the device speaks, "1.<minor>"; minors add optional fields only.'),
        models: z.array(ModelVersion).max(32).describe('Models loaded, one entry per model.'),
        kb: Uint32.nullable().describe('Source-KB version the device holds, or null when it has none yet.'),
        bundle: SemVer.optional().describe('Version of the installed bundle, when installed from one.'),
        slot: z.enum(['A', 'B']).optional().describe('Install slot the runtime runs from.'),
      })
      .describe('Versions of what runs on the device.'),
    capabilities: z.array(Capability).max(64).describe('What the device can do; readers ignore tokens they do not know.'),
  })
  .describe('Birth certificate: published retained after connecting.');
export type StatusOnline = z.infer<typeof StatusOnline>;

export const StatusOffline = z
  .strictObject({
    ...statusBase,
    state: z.literal('offline').describe('Death: the device is gone.'),
    reason: z
      .enum(['will', 'shutdown'])
      .describe('"will": published by the broker as the last will after an unclean disconnect; "shutdown": published by the device itself.'),
    message: Text.optional().describe('Why the device shut down, for people.'),
  })
  .describe('Death certificate: the MQTT last will (retained), or published on a clean shutdown.');
export type StatusOffline = z.infer<typeof StatusOffline>;

/** What the install agent is doing, as its events name it (toolkit/flash's AgentEvent phases). */
export const InstallPhase = z
  .enum(['verifying', 'writing', 'switching', 'health-check', 'committed', 'rolled-back', 'refused', 'failed', 'recovered'])
  .describe(
    'verifying: checking the signature and hashes; writing: unpacking into the inactive slot; switching: making it active; health-check: probing the new runtime; committed: the new slot is the last known good; rolled-back: the previous slot is active again; refused: the bundle was not installed (bad signature, downgrade...), the running slot untouched; failed: the agent stopped on an error; recovered: at boot, an interrupted install was undone.',
  );
export type InstallPhase = z.infer<typeof InstallPhase>;

export const StatusUpdating = z
  .strictObject({
    ...statusBase,
    state: z.literal('updating').describe('A change of the install agent\'s state (akb-agent), retained until the runtime\'s next birth or death.'),
    phase: InstallPhase,
    bundle: z
      .strictObject({ name: Slug.describe('Artifact name of the bundle.'), version: SemVer.describe('Its version.') })
      .optional()
      .describe('The bundle being installed, once its signed manifest is read.'),
    slot: z.enum(['A', 'B']).optional().describe('The slot the phase is about (written to, switched to, rolled back to).'),
    message: Text.describe('What happened, for people, one line.'),
  })
  .describe('Install state change: published retained by the install agent at every step of an install or a boot recovery.');
export type StatusUpdating = z.infer<typeof StatusUpdating>;

export const StatusMessage = z
  .discriminatedUnion('state', [StatusOnline, StatusOffline, StatusUpdating])
  .meta({
    title: 'Device status',
    description: 'Retained on akb/v1/dev/{device}/status: a birth (online), a death (offline) or an install state change (updating).',
  });
export type StatusMessage = z.infer<typeof StatusMessage>;

/**
 * The death certificate to register as the last will, before connecting. Every field is known at that
 * point; `reason` is `will` because the broker is the one that will publish it. Throws
 * ProtocolError('SCHEMA_VIOLATION') for an invalid device id or session.
 */
export function makeLastWill(device: string, session: number, now: number = Date.now()): StatusOffline {
  return parseOrThrow('status', StatusOffline, { v: 1, device, session, ts: now, state: 'offline', reason: 'will' });
}
