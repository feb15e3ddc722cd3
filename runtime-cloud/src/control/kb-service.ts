/**
 * The source KB service: the cloud hosts the snapshot the LVM agent built (models/zoo/<kb>/), announces it
 * retained on `akb/v1/fleet/kb/announce`, and answers `kb.entries` on `akb/v1/cloud/req` and
 * `akb/v1/cloud/ops/req` (through the CloudService's dispatch tables) and on every device's `kb/req`.
 * `reload()` (the `kb.reload` operation, on cloud/ops/req only) reads the snapshot again and, when it
 * changed, announces the new version; the previous versions stay available (`keep`, default 2) so a device
 * mid-sync can finish, and so that frames still naming the previous version decode with its priors.
 *
 * Versions: `kbVersion` is the snapshot's `versionId` (the first 32 bits of the keys' SHA-256), the number
 * frame headers carry, so an edge compares the announce with its own KB directly. (PROTOCOL.md's "+1 per
 * rebuild" would need a counter that edges cannot derive from the snapshot they were flashed with.)
 * Each entry's `prior` weight is 1/K: the snapshot holds prior images, not cluster sizes; the images
 * themselves travel in bundles, not over MQTT.
 *
 * Signing (protocol 1.4, "Signed messages"): given the fleet key, the announce and every entry response on
 * a device's kb/res carry `sig` (seq: the clock in ms, strictly increasing; expiresAt: now + announceTtlMs,
 * default 24 h, for the retained announce, which is signed and published again every half of that; now +
 * responseTtlMs, default 5 min, for a response). Without a key both go unsigned. Answers to kb.entries on
 * cloud/req and cloud/ops/req (for tools) are never signed.
 */
import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AkbError,
  KB_ENTRIES_OP,
  TOPIC_ROOT,
  encodeEmbedding,
  encodeMessage,
  isAkbError,
  kbDigest,
  parseDeviceTopic,
  seqClock,
  signMessage,
  topics,
  validateMessage,
  type KbAnnounce,
  type KbEntryResponse,
} from '@akb/protocol';
import { RpcServer, type AkbMessage, type MqttTransport } from '@akb/protocol/mqtt';
import { loadSourceKb, type SourceKb } from '@akb/jscc';
import { DeviceScope } from '../scope.js';

/** Where the decoder finds the KB a frame names. */
export interface KbStore {
  readonly current: SourceKb | undefined;
  get(version: number): SourceKb | undefined;
}

/** A fixed store of the KBs given (e.g. a model set's), for a decoder without a KB service. */
export function staticKbStore(...kbs: (SourceKb | undefined)[]): KbStore {
  const all = kbs.filter((k): k is SourceKb => k !== undefined);
  return { current: all[0], get: (v) => all.find((k) => k.versionId === v) };
}

export interface KbServiceOptions {
  /** The snapshot folder (kb.json, keys.f32, priors.u8, gmean.u8). */
  dir: string;
  /** Versions kept for kb.entries and decoding (default 2: the current and the previous). */
  keep?: number;
  /** The vision model that built the embeddings, for the announce (default: kb.json's vision_encoder). */
  model?: string;
  now?: () => number;
  onError?: (error: unknown, context: object) => void;
  /** The devices whose kb/req is served (default every device); others are counted and ignored. */
  scope?: DeviceScope;
  /** The fleet key (Ed25519 private): signs the announce and the entry responses on kb/res. */
  fleetKey?: KeyObject;
  /** How long a signed announce stays valid (ms, default 24 h); it is signed again every half of this. */
  announceTtlMs?: number;
  /** How long a signed entry response stays valid (ms, default 5 min). */
  responseTtlMs?: number;
}

const DAY_MS = 24 * 3600 * 1000;

interface Snapshot {
  readonly kb: SourceKb;
  readonly digest: string;
  readonly created: string;
  readonly model: string | undefined;
}

/** Devices whose kb/req dispatcher is kept; beyond this the least recently used is dropped. */
const MAX_DEVICE_SERVERS = 4096;
const KB_REQ_FILTER = `${TOPIC_ROOT}/dev/+/kb/req`;

export class KbService implements KbStore {
  private readonly versions = new Map<number, Snapshot>();
  private readonly servers = new Map<string, RpcServer>();
  private latest: Snapshot | undefined;
  private stopRouting: (() => void) | undefined;
  private readonly scope: DeviceScope;
  private readonly filters: string[];
  readonly stats = { announced: 0, reloads: 0, kbRequests: 0 };
  private readonly nextSeq = seqClock();
  private reannounce: NodeJS.Timeout | undefined;

  private constructor(private readonly client: MqttTransport, private readonly options: KbServiceOptions) {
    this.scope = options.scope ?? DeviceScope.all();
    this.filters = this.scope.filters('kb/req');
  }

  /** Loads the snapshot, publishes the announce and starts answering every device's kb/req (per the scope). */
  static async start(client: MqttTransport, options: KbServiceOptions): Promise<KbService> {
    const service = new KbService(client, options);
    service.add(await readSnapshot(options.dir));
    service.stopRouting = client.onMessage(KB_REQ_FILTER, (m) => service.route(m));
    for (const f of service.filters) await client.subscribe(f, { qos: 1 });
    await service.announce();
    if (options.fleetKey) {
      const every = Math.max(1000, Math.floor((options.announceTtlMs ?? DAY_MS) / 2));
      service.reannounce = setInterval(() => void service.announce().catch((e: unknown) => options.onError?.(e, { op: 'kb.announce' })), every);
      service.reannounce.unref();
    }
    return service;
  }

  get current(): SourceKb | undefined {
    return this.latest?.kb;
  }

  get(version: number): SourceKb | undefined {
    return this.versions.get(version)?.kb;
  }

  /** The announce of the current version. */
  announcement(): KbAnnounce {
    const s = this.latest!;
    const model = this.options.model ?? s.model;
    return {
      v: 1,
      kbVersion: s.kb.versionId,
      entries: s.kb.size,
      dims: s.kb.dim,
      sha256: s.digest,
      created: s.created,
      ts: (this.options.now ?? Date.now)(),
      ...(model === undefined ? {} : { model: model.slice(0, 200) }),
    };
  }

  async announce(): Promise<void> {
    const topic = topics.kbAnnounce();
    const key = this.options.fleetKey;
    const now = (this.options.now ?? Date.now)();
    const a = this.announcement();
    const message = key ? signMessage('kb-announce', a, topic, key, { seq: this.nextSeq(), expiresAt: now + (this.options.announceTtlMs ?? DAY_MS) }) : a;
    await this.client.publish(topic, encodeMessage('kb-announce', message), { qos: 1, retain: true });
    this.stats.announced++;
  }

  /** The `kb.entries` handler: args is a kb-entry-request. */
  entries(args: unknown): KbEntryResponse {
    let req;
    try {
      req = validateMessage('kb-entry-request', args);
    } catch (e) {
      throw new AkbError('BAD_REQUEST', isAkbError(e) ? e.message : String(e), { hint: 'args: {kbVersion, offset, count <= 64}' });
    }
    const snap = this.versions.get(req.kbVersion);
    if (snap === undefined) {
      throw new AkbError('KB_VERSION_GONE', `KB version ${req.kbVersion} is not kept here; the current one is ${this.latest?.kb.versionId}`, {
        hint: 'start over with the version in the retained kb-announce',
      });
    }
    const { kb } = snap;
    const end = Math.min(kb.size, req.offset + req.count);
    const entries = [];
    for (let i = req.offset; i < end; i++) {
      entries.push({ index: i, embedding: encodeEmbedding(kb.keys.subarray(i * kb.dim, (i + 1) * kb.dim)), prior: 1 / kb.size });
    }
    return { kbVersion: kb.versionId, offset: req.offset, total: kb.size, dims: kb.dim, entries };
  }

  /** kb.entries for a device's kb/req: signed for its kb/res when there is a fleet key. */
  private signedEntries(args: unknown, device: string): KbEntryResponse {
    const page = this.entries(args);
    const key = this.options.fleetKey;
    if (!key) return page;
    const now = (this.options.now ?? Date.now)();
    return signMessage('kb-entry-response', page, topics.kb(device, 'res'), key, { seq: this.nextSeq(), expiresAt: now + (this.options.responseTtlMs ?? 5 * 60_000) });
  }

  /** Reads the snapshot again; announces it when its version changed. */
  async reload(): Promise<{ kbVersion: number; previous: number; changed: boolean }> {
    this.stats.reloads++;
    const previous = this.latest!.kb.versionId;
    const snap = await readSnapshot(this.options.dir);
    const changed = snap.kb.versionId !== previous;
    if (changed) {
      this.add(snap);
      await this.announce();
    }
    return { kbVersion: snap.kb.versionId, previous, changed };
  }

  /** Stops answering; with `unsubscribe` (default true) also unsubscribes, which waits on the broker. */
  async stop(options: { unsubscribe?: boolean } = {}): Promise<void> {
    if (this.reannounce) clearInterval(this.reannounce);
    this.reannounce = undefined;
    if (this.stopRouting === undefined) return;
    this.stopRouting();
    this.stopRouting = undefined;
    if (options.unsubscribe !== false) await Promise.allSettled(this.filters.map((f) => this.client.unsubscribe(f)));
  }

  private add(snap: Snapshot): void {
    this.versions.delete(snap.kb.versionId);
    this.versions.set(snap.kb.versionId, snap);
    this.latest = snap;
    const keep = Math.max(1, this.options.keep ?? 2);
    while (this.versions.size > keep) this.versions.delete(this.versions.keys().next().value!);
  }

  /** A request on some device's kb/req: answered by that device's dispatcher (default reply: its kb/res). */
  private route(message: AkbMessage): Promise<void> | undefined {
    let device: string;
    try {
      device = parseDeviceTopic(message.topic).device;
    } catch {
      return undefined;
    }
    if (!this.scope.has(device)) {
      this.scope.counters.kbRequests++;
      return undefined;
    }
    this.stats.kbRequests++;
    let server = this.servers.get(device);
    if (server === undefined) {
      server = new RpcServer(this.client, {
        requestTopic: topics.kb(device, 'req'),
        defaultReplyTopic: topics.kb(device, 'res'),
        handlers: { [KB_ENTRIES_OP]: (args) => this.signedEntries(args, device) },
        ...(this.options.onError ? { onError: this.options.onError } : {}),
      });
    } else {
      this.servers.delete(device);
    }
    this.servers.set(device, server);
    if (this.servers.size > MAX_DEVICE_SERVERS) this.servers.delete(this.servers.keys().next().value!);
    return server.handle(message);
  }
}

async function readSnapshot(dir: string): Promise<Snapshot> {
  const kb = await loadSourceKb(dir);
  if (kb.versionId === 0) throw new AkbError('KB_INVALID', `${dir}: version id 0 is reserved for "no KB"`);
  const entries = Array.from({ length: kb.size }, (_, i) => ({ embedding: kb.keys.subarray(i * kb.dim, (i + 1) * kb.dim), prior: 1 / kb.size }));
  const file = join(dir, 'kb.json');
  const mtime = (await stat(file)).mtime;
  const { vision_encoder: model } = JSON.parse(await readFile(file, 'utf8')) as { vision_encoder?: unknown };
  return { kb, digest: kbDigest(entries), created: mtime.toISOString().replace(/\.\d{3}Z$/, 'Z'), model: typeof model === 'string' ? model : undefined };
}
