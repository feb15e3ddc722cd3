/**
 * Simulated OTA devices for the tests and the bench: each one a real InstallAgent on its own temporary
 * install root with an injected health check, an OtaReceiver (runtime-edge) on its own MQTT connection,
 * and real signed bundles (writeBundle, Ed25519) with an incompressible payload so they span many blocks.
 * The release key is also the fleet key that signs offers (`keys.signer`, OtaJobRunner's offerKey).
 */
import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { InstallAgent, bundleInfo, generateKeyFiles, loadPrivateKey, loadTrustedKeys, writeBundle, type BundleInfo, type TrustedKey } from '@akb/flash';
import { OtaReceiver } from '@akb/edge/install';

export const PROFILE = 'generic-x64';

export interface Keys {
  key: string;
  pub: string;
  trusted: TrustedKey[];
  /** The private key, for signing offers. */
  signer: KeyObject;
}

export async function makeKeys(dir: string, name: string): Promise<Keys> {
  const k = await generateKeyFiles(dir, name);
  return { key: k.privateKey, pub: k.publicKey, trusted: await loadTrustedKeys([k.publicKey]), signer: await loadPrivateKey(k.privateKey) };
}

/** A signed bundle of `payloadBytes` random bytes (incompressible) plus a launcher; returns its OTA facts. */
export async function tinyBundle(out: string, o: { version: string; keys: Keys; payloadBytes?: number; profile?: string }): Promise<BundleInfo> {
  await writeBundle(out, {
    name: 'akb-edge-ota',
    version: o.version,
    targetProfiles: [o.profile ?? PROFILE],
    created: new Date('2026-01-01T00:00:00Z'),
    runtime: { arch: 'x64' },
    files: [
      { path: 'bin/akb-edge', role: 'script', mode: 0o755, source: { bytes: Buffer.from('#!/bin/sh\nexit 0\n') } },
      { path: 'data/blob.bin', role: 'other', source: { bytes: randomBytes(o.payloadBytes ?? 100_000) } },
    ],
    key: await loadPrivateKey(o.keys.key),
  });
  return bundleInfo(out);
}

export interface SimDevice {
  id: string;
  root: string;
  agent: InstallAgent;
  receiver: OtaReceiver;
  client: AkbMqttClient;
  /** Versions whose health check this device fails. */
  failing: Set<string>;
  /** Installed version now (null: none). */
  version(): Promise<string | null>;
  /** state.json as bytes (to compare before and after). */
  stateBytes(): Promise<string>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface SimOptions {
  url: string;
  id: string;
  keys: Keys;
  /** An existing root (a restarted device); default a new temporary folder. */
  root?: string;
  window?: number;
  retryMs?: number;
  failing?: Iterable<string>;
  profile?: string;
}

export async function startDevice(o: SimOptions): Promise<SimDevice> {
  const root = o.root ?? (await mkdtemp(join(tmpdir(), `akb-ota-${o.id}-`)));
  const failing = new Set(o.failing ?? []);
  let receiver: OtaReceiver | undefined;
  const agent = new InstallAgent({
    root,
    profile: o.profile ?? PROFILE,
    trustedKeys: o.keys.trusted,
    healthCheck: ({ manifest }) => Promise.resolve(failing.has(manifest.version) ? { ok: false as const, reason: 'probe failed (simulated)' } : { ok: true as const }),
    onEvent: (e) => receiver?.agentEvent(e),
  });
  await agent.boot();
  let client = await connectMqtt({ url: o.url, clientId: `${o.id}-ota`, reconnectPeriodMs: 200 });
  const make = (c: AkbMqttClient): OtaReceiver =>
    new OtaReceiver({
      transport: c, deviceId: o.id, profile: o.profile ?? PROFILE, agent, root,
      trustedKeys: o.keys.trusted,
      ...(o.window ? { window: o.window } : {}), retryMs: o.retryMs ?? 500,
    });
  receiver = make(client);
  await receiver.start();
  const device: SimDevice = {
    id: o.id, root, agent, receiver, client, failing,
    async version() {
      const s = await agent.state();
      return s.active ? (s.slots[s.active]?.version ?? null) : null;
    },
    stateBytes: () => readFile(join(root, 'state.json'), 'utf8').catch(() => ''),
    async restart() {
      await receiver!.close();
      await client.close({ force: true });
      client = await connectMqtt({ url: o.url, clientId: `${o.id}-ota`, reconnectPeriodMs: 200 });
      receiver = make(client);
      device.receiver = receiver;
      device.client = client;
      await receiver.start();
    },
    async close() {
      await receiver!.close();
      await client.close({ force: true });
      await rm(root, { recursive: true, force: true });
    },
  };
  return device;
}
