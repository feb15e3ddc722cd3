/**
 * The sender of an OTA job (protocol/PROTOCOL.md, "OTA" and "Jobs"): offers the bundle to one wave of
 * devices at a time, canary first; answers their block requests with blocks read from the file; records
 * each device's progress and result; halts once failures pass the threshold (later waves are never
 * offered; devices already installed keep the new version); publishes the job's state retained on
 * akb/v1/ota/job/{job} and stops when an abort arrives on its abort topic. A get is answered only for a
 * device of the job, of its transfer, inside the file, one get per device at a time and 16 blocks of it in
 * memory at a time. It runs on any MqttTransport; over AkbMqttClient a broker restart costs nothing but
 * time: offers are repeated to devices not heard since, the devices ask again for what they miss, and the
 * state is published again.
 */
import {
  decodeMessage,
  encodeMessage,
  filters,
  parseDeviceTopic,
  seqClock,
  signMessage,
  topics,
  type OtaJob,
  type OtaJobDevice,
} from '@akb/protocol';
import type { KeyObject } from 'node:crypto';
import type { AkbMessage, MqttTransport } from '@akb/protocol/mqtt';
import { BlockReader, type BundleInfo } from './bundle-source.js';
import { failureLimit, planWaves, type WavePolicy } from './waves.js';

export interface OtaJobOptions {
  transport: MqttTransport;
  jobId: string;
  bundle: BundleInfo;
  devices: readonly string[];
  policy: WavePolicy;
  /** Bytes per block (default 64 KiB). */
  blockSize?: number;
  force?: boolean;
  /**
   * The fleet key (Ed25519 private key): every offer is signed with it for its device's topic (protocol 1.4,
   * "Signed messages"), with a fresh seq (the clock in ms, strictly increasing) and expiresAt = now +
   * offerTtlMs. Without it offers go unsigned, which a device refuses unless it allows unsigned offers.
   */
  offerKey?: KeyObject;
  /** How long a signed offer stays valid (ms, default 600 000). */
  offerTtlMs?: number;
  /** Offer again to a device not heard from since, after this long (ms, default 3000). */
  offerRetryMs?: number;
  /** A device not heard from for this long fails with TRANSFER_TIMEOUT (ms, default 120 000). */
  deviceTimeoutMs?: number;
  /** Called with every state published. */
  onState?: (job: OtaJob) => void;
  now?: () => number;
}

export interface OtaJobStats {
  blocksSent: number;
  bytesSent: number;
  /** Gets, progress and results dropped: malformed, another transfer, not a device of the job, a window past the end. */
  dropped: number;
  offers: number;
  /** When the result that passed the threshold arrived, and when the halted state was published (ms). */
  thresholdPassedAt?: number;
  haltPublishedAt?: number;
}

const TERMINAL = new Set<OtaJobDevice['phase']>(['ok', 'failed', 'skipped']);
const STATE_INTERVAL_MS = 200;
/** Blocks of one get read and published at a time (16 x 128 KiB at most: 2 MiB per device). */
const SERVE_BATCH = 16;

interface Tracked {
  entry: OtaJobDevice;
  offeredAt: number;
  heardAt: number;
  heardSinceOffer: boolean;
  servingSince: number | undefined;
}

export class OtaJobRunner {
  readonly stats: OtaJobStats = { blocksSent: 0, bytesSent: 0, dropped: 0, offers: 0 };
  private readonly nextSeq = seqClock();
  private readonly devices = new Map<string, Tracked>();
  private readonly waves: string[][];
  private readonly now: () => number;
  private job: OtaJob;
  private stopping: 'halted' | 'aborted' | undefined;
  private stopMessage: string | undefined;
  private waveSettled: (() => void) | undefined;
  private lastPublish = 0;
  private publishTimer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> = Promise.resolve();
  private reader: BlockReader | undefined;

  constructor(private readonly o: OtaJobOptions) {
    topics.otaJob(o.jobId);
    this.now = o.now ?? Date.now;
    this.waves = planWaves(o.devices, o.policy);
    const entries: OtaJobDevice[] = [];
    this.waves.forEach((ids, wave) => {
      for (const id of ids) {
        topics.status(id);
        const entry: OtaJobDevice = { id, wave, phase: 'pending', bytes: 0 };
        entries.push(entry);
        this.devices.set(id, { entry, offeredAt: 0, heardAt: 0, heardSinceOffer: false, servingSince: undefined });
      }
    });
    const b = o.bundle;
    this.job = {
      v: 1, job: o.jobId, ts: this.now(), state: 'running',
      bundle: { name: b.name, version: b.version, sha256: b.sha256, size: b.size, targets: b.targets },
      policy: { ...o.policy }, wave: 0, waves: this.waves.length, devices: entries,
    };
  }

  /** The job's state now (a copy). */
  state(): OtaJob {
    return structuredClone(this.job);
  }

  /** Offers nothing more; the job ends "aborted" once the devices already offered have reported. */
  abort(reason = 'aborted'): void {
    this.stop('aborted', reason);
  }

  /** Runs the job to its end and returns the final state. */
  async run(): Promise<OtaJob> {
    const t = this.o.transport;
    this.reader = await BlockReader.open(this.o.bundle, this.o.blockSize ?? 64 * 1024);
    const offs = [
      t.onMessage(filters.allOta('get'), (m) => this.onGet(m)),
      t.onMessage(filters.allOta('progress'), (m) => this.onProgress(m)),
      t.onMessage(filters.allOta('result'), (m) => this.onResult(m)),
      t.onMessage(topics.otaJobAbort(this.o.jobId), (m) => this.onAbort(m)),
    ];
    const subs = [filters.allOta('get'), filters.allOta('progress'), filters.allOta('result'), topics.otaJobAbort(this.o.jobId)];
    const ticker = setInterval(() => this.tick(), 250);
    try {
      for (const s of subs) await t.subscribe(s, { qos: 1 });
      this.publishState(true);
      for (let w = 0; w < this.waves.length && this.stopping === undefined; w++) await this.runWave(w);
      for (const d of this.devices.values()) if (d.entry.phase === 'pending') d.entry.phase = 'skipped';
      this.job.state = this.stopping ?? 'completed';
      if (this.stopMessage !== undefined) this.job.message = this.stopMessage;
      this.publishState(true);
      await this.publishing;
      return this.state();
    } finally {
      clearInterval(ticker);
      if (this.publishTimer) clearTimeout(this.publishTimer);
      for (const off of offs) off();
      await Promise.all(subs.map((s) => t.unsubscribe(s).catch(() => undefined)));
      await this.reader.close();
    }
  }

  private async runWave(w: number): Promise<void> {
    this.job.wave = w;
    const settled = new Promise<void>((resolve) => (this.waveSettled = resolve));
    for (const id of this.waves[w]!) this.offer(this.devices.get(id)!);
    this.publishState(true);
    this.checkWave();
    await settled;
  }

  private offer(d: Tracked): void {
    const now = this.now();
    if (d.entry.phase === 'pending') d.entry.phase = 'offered';
    if (d.offeredAt === 0) d.heardAt = now;
    d.offeredAt = now;
    d.heardSinceOffer = false;
    this.stats.offers++;
    const b = this.o.bundle;
    const topic = topics.ota(d.entry.id, 'offer');
    const body = {
      v: 1 as const, transfer: this.o.jobId, ts: now,
      bundle: { name: b.name, version: b.version, targetProfiles: b.targets },
      size: b.size, sha256: b.sha256, blockSize: this.reader!.blockSize,
      signature: { algorithm: 'ed25519' as const, keyId: b.keyId }, force: this.o.force ?? false,
    };
    const key = this.o.offerKey;
    const offer = encodeMessage('ota-offer', key ? signMessage('ota-offer', body, topic, key, { seq: this.nextSeq(), expiresAt: now + (this.o.offerTtlMs ?? 600_000) }) : body);
    this.o.transport.publish(topic, offer, { qos: 1 }).catch(() => undefined);
  }

  /** The device of a message on `…/dev/{device}/ota/*`, when it is in the job and its wave was offered. */
  private deviceOf(m: AkbMessage): Tracked | undefined {
    try {
      const d = this.devices.get(parseDeviceTopic(m.topic).device);
      if (d !== undefined && d.offeredAt > 0) return d;
    } catch {
      // not a device topic: dropped below
    }
    this.stats.dropped++;
    return undefined;
  }

  private heard(d: Tracked): void {
    d.heardAt = this.now();
    d.heardSinceOffer = true;
  }

  private onGet(m: AkbMessage): void {
    const d = this.deviceOf(m);
    if (!d || TERMINAL.has(d.entry.phase)) return;
    let get;
    try {
      get = decodeMessage('ota-get', m.payload);
    } catch {
      this.stats.dropped++;
      return;
    }
    const reader = this.reader!;
    // A get of another transfer, or a window past the last block, is dropped before anything is read.
    if (get.transfer !== this.o.jobId || get.index + get.count > reader.blocks) {
      this.stats.dropped++;
      return;
    }
    this.heard(d);
    const now = this.now();
    // One window per device at a time; a repeat while it is served is the device's retry, unless that
    // window has hung (a publish lost to a broker restart) for 5 s.
    if (d.servingSince !== undefined && now - d.servingSince < 5000) return;
    d.servingSince = now;
    const bitmap = get.bitmap === undefined ? undefined : Buffer.from(get.bitmap, 'base64');
    const wanted: number[] = [];
    for (let i = 0; i < get.count; i++) if (!bitmap || (bitmap[i >> 3]! >> (i & 7)) & 1) wanted.push(get.index + i);
    void this.serve(d, wanted).finally(() => {
      if (d.servingSince === now) d.servingSince = undefined;
    });
  }

  /** Answers the asked blocks, at most SERVE_BATCH in memory and in flight at a time for one device. */
  private async serve(d: Tracked, indices: readonly number[]): Promise<void> {
    const topic = topics.ota(d.entry.id, 'block');
    try {
      for (let at = 0; at < indices.length; at += SERVE_BATCH) {
        await Promise.all(
          indices.slice(at, at + SERVE_BATCH).map(async (index) => {
            const data = await this.reader!.read(index);
            // Built without the schema check: every field is ours and Buffer's base64 is canonical; the check
            // (strict base64 over 87 K characters) cost ~0.8 ms a 64 KiB block, half the sender's CPU.
            const payload = JSON.stringify({ v: 1, transfer: this.o.jobId, index, data: data.toString('base64') });
            await this.o.transport.publish(topic, payload, { qos: 1 });
            this.stats.blocksSent++;
            this.stats.bytesSent += data.length;
          }),
        );
      }
    } catch {
      // a publish lost with the connection: the device asks again
    }
  }

  private onProgress(m: AkbMessage): void {
    const d = this.deviceOf(m);
    if (!d || TERMINAL.has(d.entry.phase)) return;
    try {
      const p = decodeMessage('ota-progress', m.payload);
      if (p.transfer !== this.o.jobId || p.size !== this.o.bundle.size) throw new Error('another transfer');
      this.heard(d);
      d.entry.phase = p.phase;
      d.entry.bytes = p.bytes;
      this.publishState(false);
    } catch {
      this.stats.dropped++;
    }
  }

  private onResult(m: AkbMessage): void {
    const d = this.deviceOf(m);
    if (!d) return;
    let r;
    try {
      r = decodeMessage('ota-result', m.payload);
      if (r.transfer !== this.o.jobId) throw new Error('another transfer');
    } catch {
      this.stats.dropped++;
      return;
    }
    if (TERMINAL.has(d.entry.phase)) return;
    this.heard(d);
    if (r.status === 'ok') {
      d.entry.phase = 'ok';
      d.entry.bytes = this.o.bundle.size;
    } else {
      d.entry.phase = 'failed';
      d.entry.reason = r.reason;
      d.entry.rolledBack = r.rolledBack;
      this.checkThreshold();
    }
    this.publishState(false);
    this.checkWave();
  }

  private onAbort(m: AkbMessage): void {
    try {
      const a = decodeMessage('ota-abort', m.payload);
      if (a.job === this.o.jobId) this.abort(a.reason ?? 'aborted by akb deploy abort');
    } catch {
      this.stats.dropped++;
    }
  }

  private failed(): number {
    let n = 0;
    for (const d of this.devices.values()) if (d.entry.phase === 'failed') n++;
    return n;
  }

  private checkThreshold(): void {
    const n = this.devices.size;
    const failed = this.failed();
    const limit = failureLimit(n, this.o.policy.maxFailures);
    if (failed > limit && this.stopping === undefined) {
      this.stats.thresholdPassedAt = this.now();
      this.stop('halted', `${failed} of ${n} devices failed, more than ${limit} (${Math.round(this.o.policy.maxFailures * 1000) / 10}%): halted in wave ${this.job.wave + 1} of ${this.waves.length}`);
    }
  }

  private stop(state: 'halted' | 'aborted', message: string): void {
    if (this.stopping !== undefined) return;
    this.stopping = state;
    this.stopMessage = message;
    this.job.state = state;
    this.job.message = message;
    for (const d of this.devices.values()) if (d.entry.phase === 'pending') d.entry.phase = 'skipped';
    this.publishState(true);
    if (state === 'halted') void this.publishing.then(() => (this.stats.haltPublishedAt = this.now()));
    this.checkWave();
  }

  private checkWave(): void {
    const ids = this.waves[this.job.wave] ?? [];
    if (ids.every((id) => TERMINAL.has(this.devices.get(id)!.entry.phase))) this.waveSettled?.();
  }

  private tick(): void {
    const now = this.now();
    const retry = this.o.offerRetryMs ?? 3000;
    const timeout = this.o.deviceTimeoutMs ?? 120_000;
    for (const d of this.devices.values()) {
      if (d.offeredAt === 0 || TERMINAL.has(d.entry.phase)) continue;
      if (now - d.heardAt > timeout) {
        d.entry.phase = 'failed';
        d.entry.reason = 'TRANSFER_TIMEOUT';
        d.entry.rolledBack = false;
        this.checkThreshold();
        this.publishState(false);
        this.checkWave();
      } else if (!d.heardSinceOffer && now - d.offeredAt > retry) {
        this.offer(d);
      }
    }
  }

  /** Publishes the retained state now (`force`) or at most every STATE_INTERVAL_MS. */
  private publishState(force: boolean): void {
    const wait = this.lastPublish + STATE_INTERVAL_MS - this.now();
    if (!force && wait > 0) {
      this.publishTimer ??= setTimeout(() => {
        this.publishTimer = undefined;
        this.publishState(true);
      }, wait);
      return;
    }
    this.lastPublish = this.now();
    this.job.ts = this.lastPublish;
    const snapshot = this.state();
    this.o.onState?.(snapshot);
    const payload = encodeMessage('ota-job', snapshot);
    const topic = topics.otaJob(this.o.jobId);
    this.publishing = this.publishing.then(() => this.o.transport.publish(topic, payload, { qos: 1, retain: true }).catch(() => undefined));
  }
}
