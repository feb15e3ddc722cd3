/**
 * OTA rollouts (protocol 1.1): a job delivers one bundle to many devices in waves, a canary share first,
 * and halts when failures pass a threshold. Its state is retained on `akb/v1/ota/job/{job}` by the sender
 * that runs it, so `akb deploy status` reads it from any process; `akb deploy abort` publishes an
 * `ota-abort` on `akb/v1/ota/job/{job}/abort`, which only that sender reads. A device reports how far its
 * transfer is with `ota-progress` on its own `akb/v1/dev/{device}/ota/progress`. No message names a topic:
 * where each one goes is fixed by the topic tree.
 */
import { z } from 'zod';
import { DeviceId, EpochMillis, NonNegativeInt, ProfileId, SemVer, Sha256Hex, Slug, Text } from './common.js';
import { OTA_FAILURES, OTA_MAX_SIZE, TransferId } from './ota.js';

/** Most devices one job may hold (its retained state stays under the 256 KiB message limit). */
export const OTA_MAX_JOB_DEVICES = 1000;

export const JobId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'job id: 1-64 of [A-Za-z0-9._-]')
  .refine((s) => s !== '.' && s !== '..', 'job id may not be "." or ".."')
  .describe('Id of a rollout job; a topic level of akb/v1/ota/job/{job}, and the transfer id of its offers.');

const Share = z.number().min(0).max(1);

/** Where a device's transfer is, as the device reports it and the job records it. */
export const OTA_PHASES = ['downloading', 'verifying', 'installing', 'health-check'] as const;

export const OtaProgress = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    transfer: TransferId,
    ts: EpochMillis.describe('When the progress was measured.'),
    phase: z.enum(OTA_PHASES).describe('downloading blocks, verifying the file, installing into the slot, checking health.'),
    bytes: NonNegativeInt.max(OTA_MAX_SIZE).describe('Bytes of the bundle the device holds.'),
    size: NonNegativeInt.max(OTA_MAX_SIZE).describe('Size of the bundle (the offer\'s).'),
  })
  .refine((p) => p.bytes <= p.size, { message: 'bytes may not exceed size', path: ['bytes'] })
  .meta({ title: 'OTA progress', description: 'Device to sender, on akb/v1/dev/{device}/ota/progress, at most a few per second.' });
export type OtaProgress = z.infer<typeof OtaProgress>;

export const OtaJobDevice = z
  .strictObject({
    id: DeviceId,
    wave: NonNegativeInt.max(OTA_MAX_JOB_DEVICES).describe('Wave the device belongs to; wave 0 is the canary.'),
    phase: z
      .enum(['pending', 'offered', ...OTA_PHASES, 'ok', 'failed', 'skipped'])
      .describe('pending (wave not started), offered, a progress phase, ok, failed, or skipped (the job stopped before its wave).'),
    bytes: NonNegativeInt.max(OTA_MAX_SIZE).describe('Bytes the device reported holding.'),
    reason: z.enum(OTA_FAILURES).optional().describe('With phase failed: the reason of its result.'),
    rolledBack: z.boolean().optional().describe('With phase failed: the device tried the new slot and switched back.'),
  })
  .describe('One device of the job.');
export type OtaJobDevice = z.infer<typeof OtaJobDevice>;

export const OtaJob = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    job: JobId,
    ts: EpochMillis.describe('When this state was published.'),
    state: z
      .enum(['running', 'halted', 'aborted', 'completed'])
      .describe('running; halted (failures passed the threshold); aborted (by ota-abort); completed (every wave done).'),
    bundle: z
      .strictObject({
        name: Slug,
        version: SemVer,
        sha256: Sha256Hex.describe('SHA-256 of the bundle file.'),
        size: NonNegativeInt.max(OTA_MAX_SIZE),
        targets: z.array(ProfileId).min(1).max(64).describe('Profiles the bundle is built for.'),
      })
      .describe('What the job delivers.'),
    policy: z
      .strictObject({
        canary: Share.describe('Share of the devices in wave 0 (at least one device).'),
        wave: Share.gt(0).describe('Share of the devices in each later wave (at least one device).'),
        maxFailures: Share.describe('The job halts once failed devices exceed this share of all its devices.'),
      })
      .describe('How the devices were cut into waves, and when the job halts.'),
    wave: NonNegativeInt.max(OTA_MAX_JOB_DEVICES).describe('The wave being delivered (or the last one started).'),
    waves: NonNegativeInt.max(OTA_MAX_JOB_DEVICES).describe('Number of waves.'),
    devices: z.array(OtaJobDevice).min(1).max(OTA_MAX_JOB_DEVICES).describe('Every device of the job, in wave order.'),
    message: Text.optional().describe('Why the job stopped, for people.'),
  })
  .refine((j) => new Set(j.devices.map((d) => d.id)).size === j.devices.length, { message: 'device ids must be unique', path: ['devices'] })
  .meta({ title: 'OTA job', description: 'Retained on akb/v1/ota/job/{job} by the sender running the job.' });
export type OtaJob = z.infer<typeof OtaJob>;

export const OtaAbort = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    job: JobId,
    ts: EpochMillis.describe('When the abort was asked for.'),
    reason: Text.optional().describe('Why, for people.'),
  })
  .meta({ title: 'OTA abort', description: 'Tool to sender, on akb/v1/ota/job/{job}/abort: offer nothing more.' });
export type OtaAbort = z.infer<typeof OtaAbort>;
