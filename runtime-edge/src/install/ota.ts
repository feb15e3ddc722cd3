/**
 * The device side of OTA (protocol/PROTOCOL.md, "OTA"), run by `akb-agent ota`: listens for offers on this
 * device's own `ota/offer`, refuses what it cannot take before fetching a byte (another profile, an older
 * or equal version without force, an untrusted key, a size over its limit), fetches the blocks a window at
 * a time (index + bitmap of what it misses, asked again after `retryMs` without a block), keeps the partial
 * file and its bitmap on disk (ota-store.ts) so a reconnect or a restart resumes, checks the file's SHA-256,
 * installs through the InstallAgent (signature, hashes, slots, health check, rollback), and publishes its
 * progress and one result. A block is taken only for the transfer being fetched, inside the window asked,
 * and of exactly the size due; its length is checked on the base64 text before anything is decoded.
 * Offers must be signed by a trusted key (protocol 1.4, "Signed messages"; the same trust store as bundles)
 * for this device's offer topic, unexpired, with a seq above the last accepted one (kept in
 * `<root>/signed-seq.json`, written before the offer is acted on): anything else is refused before the
 * offer is looked at further, counted in `stats.refusals` and logged; nothing is fetched, no result is
 * published (the offer's transfer id cannot be trusted), and the floor does not move.
 * Faults of the device's disk (full, read-only, permission refused; fs-errors.ts) while raising the floor,
 * beginning, writing or installing a download fail that transfer with one line naming the path (NO_SPACE
 * for a full disk, else INSTALL_FAILED), remove the partial download and leave the running slot as it was;
 * the receiver keeps running, and a result it cannot save is published all the same.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  base64ByteLength,
  checkSeq,
  decodeMessage,
  encodeMessage,
  isAkbError,
  topics,
  verifySigned,
  type OtaOffer,
  type OtaResult,
} from '@akb/protocol';
import { errorText, type AkbMessage } from '@akb/protocol/mqtt';
import { compareSemver, type AgentEvent, type InstallResult } from '@akb/flash';
import { faultLine, isDiskFault } from './fs-errors.js';
import { hasBlock, OtaStore, type Download } from './ota-store.js';
import { explainInstallFault } from './run.js';
import { SeqFloors } from './seq-floor.js';
import { REASONS, reasonOf, type Failure, type OtaReceiverOptions, type OtaReceiverStats, type Phase } from './ota-types.js';

export type { OtaReceiverOptions, OtaReceiverStats } from './ota-types.js';

/** The replay stream of offers in the seq file. */
export const OFFER_STREAM = 'ota-offer';

const PROGRESS_INTERVAL_MS = 250;
/** The held blocks are fsynced and the bitmap replaced every 16 MiB or every second, whichever comes first. */
const COMMIT_BYTES = 16 * 1024 * 1024;
const COMMIT_MS = 1000;
export class OtaReceiver {
  readonly stats: OtaReceiverStats = { offers: 0, blocks: 0, dropped: 0, gets: 0, results: [], refusals: {}, duplicates: 0 };
  private floors: SeqFloors | undefined;
  private readonly trustedKeyIds: ReadonlySet<string>;
  private readonly store: OtaStore;
  private readonly now: () => number;
  private current: Download | undefined;
  private installing = false;
  /** Blocks of the window asked and not yet received. */
  private wanted = new Set<number>();
  /** Every block of the window last asked for. */
  private window: number[] = [];
  private lastBlockAt = 0;
  private lastAskAt = 0;
  private lastProgressAt = 0;
  private uncommitted = 0;
  private committedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private offs: (() => void)[] = [];
  private settle: ((r: OtaResult) => void)[] = [];

  constructor(private readonly o: OtaReceiverOptions) {
    this.store = new OtaStore(o.root);
    this.now = o.now ?? Date.now;
    this.trustedKeyIds = new Set(o.trustedKeys.map((k) => k.keyId));
  }

  /** Subscribes to this device's offers and blocks, and resumes a download an earlier run left. */
  async start(): Promise<void> {
    this.floors = await SeqFloors.open(this.o.seqPath ?? join(this.o.root, 'signed-seq.json'));
    const t = this.o.transport;
    this.offs.push(t.onMessage(topics.ota(this.o.deviceId, 'offer'), (m) => this.serial(() => this.onOffer(m))));
    this.offs.push(t.onMessage(topics.ota(this.o.deviceId, 'block'), (m) => this.serial(() => this.onBlock(m))));
    await t.subscribe(topics.ota(this.o.deviceId, 'offer'), { qos: 1 });
    await t.subscribe(topics.ota(this.o.deviceId, 'block'), { qos: 1 });
    const resumed = await this.store.resume();
    if (resumed) {
      this.say(`resuming transfer ${resumed.offer.transfer}: ${this.held(resumed)} of ${resumed.offer.size} bytes held`);
      this.current = resumed;
      this.lastBlockAt = this.now();
      this.committedAt = this.now();
      await this.ask();
    }
    this.timer = setInterval(() => void this.serial(() => this.tick()), Math.max(50, Math.floor((this.o.retryMs ?? 2000) / 4)));
  }

  /** Resolves with the next result this receiver publishes. */
  nextResult(): Promise<OtaResult> {
    return new Promise((resolve) => this.settle.push(resolve));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const off of this.offs) off();
    await this.chain;
    const d = this.current;
    if (d && !this.installing) await this.store.commit(Buffer.from(d.bitmap)).catch(() => undefined);
    await this.store.closeFile();
  }

  /** Handlers run one at a time, in arrival order. */
  private serial(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((e: unknown) => this.say(`ota: ${errorText(e)}`));
    return this.chain;
  }

  private say(line: string): void {
    this.o.out?.(`akb-agent ota: ${line}`);
  }

  private held(d: Download): number {
    let bytes = 0;
    for (let i = 0; i < d.blocks; i++) if (hasBlock(d.bitmap, i)) bytes += this.blockLength(d.offer, i);
    return bytes;
  }

  private blockLength(offer: OtaOffer, index: number): number {
    return Math.min(offer.blockSize, offer.size - index * offer.blockSize);
  }

  private async onOffer(m: AkbMessage): Promise<void> {
    let offer: OtaOffer;
    try {
      offer = decodeMessage('ota-offer', m.payload);
    } catch {
      this.stats.dropped++;
      return;
    }
    this.stats.offers++;
    // A disk fault (the floor or the download cannot be written): the offer is not acted on, and said so.
    try {
      if (!(await this.authentic(m)) || this.installing) return;
      const done = await this.store.result(offer.transfer);
      if (done) return await this.publishResult(done, false);
      if (this.current?.offer.transfer === offer.transfer) return await this.ask();
      const refusal = await this.judge(offer);
      if (refusal) return await this.fail(offer, refusal.reason, refusal.message);
      this.say(`offer ${offer.transfer}: ${offer.bundle.name} ${offer.bundle.version}, ${offer.size} bytes in blocks of ${offer.blockSize}`);
      this.current = await this.store.begin(offer);
    } catch (e) {
      if (!isDiskFault(e)) throw e;
      return this.fail(offer, reasonOf(e), faultLine(e));
    }
    this.uncommitted = 0;
    this.committedAt = this.now();
    this.lastBlockAt = this.now();
    await this.ask();
  }

  /**
   * The signature rule: true for a signed offer of a trusted key, for this device's topic, unexpired, with
   * a seq above the floor (raised, durably, before returning) or equal to it (a duplicate of the offer last
   * accepted); otherwise counted, logged, false.
   */
  private async authentic(m: AkbMessage): Promise<boolean> {
    const topic = topics.ota(this.o.deviceId, 'offer');
    let seq: number;
    let fresh: boolean;
    try {
      const raw = JSON.parse(Buffer.from(m.payload).toString('utf8')) as unknown;
      const { sig } = verifySigned('ota-offer', raw, topic, this.o.trustedKeys, { now: this.now() });
      seq = sig!.seq;
      fresh = checkSeq('ota-offer', seq, this.floors!.get(OFFER_STREAM)) === 'new';
    } catch (e) {
      const code = isAkbError(e) ? e.code : 'SIG_BAD';
      this.stats.refusals[code] = (this.stats.refusals[code] ?? 0) + 1;
      this.say(`refused an offer: ${code}: ${errorText(e)}`);
      return false;
    }
    // A floor that cannot be made durable throws: the offer is not acted on.
    if (fresh) await this.floors!.raise(OFFER_STREAM, seq);
    else this.stats.duplicates++;
    return true;
  }

  /** Why `offer` is refused before anything is fetched, or nothing. */
  private async judge(offer: OtaOffer): Promise<{ reason: Failure; message: string } | undefined> {
    const what = `${offer.bundle.name} ${offer.bundle.version}`;
    if (!offer.bundle.targetProfiles.includes(this.o.profile)) {
      return { reason: 'INCOMPATIBLE_PROFILE', message: `${what} targets ${offer.bundle.targetProfiles.join(', ')}, not ${this.o.profile}` };
    }
    const state = await this.o.agent.state();
    const running = state.active ? state.slots[state.active] : undefined;
    if (running && !offer.force && compareSemver(offer.bundle.version, running.version) <= 0) {
      return { reason: 'DOWNGRADE_REFUSED', message: `${what} is not newer than the running ${running.version}` };
    }
    if (!this.trustedKeyIds.has(offer.signature.keyId)) {
      return { reason: 'UNTRUSTED_KEY', message: `${what} is signed by key ${offer.signature.keyId.slice(0, 16)}…, which this device does not trust` };
    }
    const max = this.o.maxSize ?? 2 * 1024 ** 3;
    if (offer.size > max) return { reason: 'NO_SPACE', message: `${what} is ${offer.size} bytes; this device takes at most ${max}` };
    return undefined;
  }

  /** Asks for the first missing block and the window after it, or finishes when nothing is missing. */
  private async ask(): Promise<void> {
    const d = this.current;
    if (!d) return;
    let first = 0;
    while (first < d.blocks && hasBlock(d.bitmap, first)) first++;
    if (first === d.blocks) return this.finish(d);
    const count = Math.min(this.o.window ?? 16, 256, d.blocks - first);
    const bitmap = Buffer.alloc(Math.ceil(count / 8));
    this.wanted = new Set();
    for (let i = 0; i < count; i++) {
      if (!hasBlock(d.bitmap, first + i)) {
        bitmap[i >> 3]! |= 1 << (i & 7);
        this.wanted.add(first + i);
      }
    }
    this.window = [...this.wanted];
    this.lastAskAt = this.now();
    this.stats.gets++;
    const get = encodeMessage('ota-get', { v: 1, transfer: d.offer.transfer, index: first, count, bitmap: bitmap.toString('base64') });
    await this.o.transport.publish(topics.ota(this.o.deviceId, 'get'), get, { qos: 1 }).catch(() => undefined);
  }

  private async onBlock(m: AkbMessage): Promise<void> {
    const d = this.current;
    let block;
    try {
      block = decodeMessage('ota-block', m.payload);
    } catch {
      this.stats.dropped++;
      return;
    }
    // Another transfer, a block not asked for, or one of the wrong size: dropped before decoding its data.
    if (!d || this.installing || block.transfer !== d.offer.transfer || !this.wanted.has(block.index) || base64ByteLength(block.data) !== this.blockLength(d.offer, block.index)) {
      this.stats.dropped++;
      return;
    }
    try {
      await this.store.writeBlock(block.index * d.offer.blockSize, Buffer.from(block.data, 'base64'));
    } catch (e) {
      return this.abort(d, e);
    }
    this.wanted.delete(block.index);
    this.stats.blocks++;
    this.lastBlockAt = this.now();
    if (this.wanted.size > 0) return;
    for (const i of this.window) d.bitmap[i >> 3]! |= 1 << (i & 7);
    this.progress(d, 'downloading', false);
    // The next window is asked for first, so the sender works while this one is made durable.
    await this.ask();
    this.uncommitted += this.window.length * d.offer.blockSize;
    if (this.current === d && (this.uncommitted >= COMMIT_BYTES || this.now() - this.committedAt >= COMMIT_MS)) {
      try {
        await this.store.commit(Buffer.from(d.bitmap));
      } catch (e) {
        return this.abort(d, e);
      }
      this.uncommitted = 0;
      this.committedAt = this.now();
    }
  }

  private progress(d: Download, phase: Phase, force: boolean): void {
    const now = this.now();
    if (!force && now - this.lastProgressAt < PROGRESS_INTERVAL_MS) return;
    this.lastProgressAt = now;
    const bytes = phase === 'downloading' ? this.held(d) : d.offer.size;
    const p = encodeMessage('ota-progress', { v: 1, transfer: d.offer.transfer, ts: now, phase, bytes, size: d.offer.size });
    this.o.transport.publish(topics.ota(this.o.deviceId, 'progress'), p, { qos: 0 }).catch(() => undefined);
  }

  private async tick(): Promise<void> {
    const d = this.current;
    if (!d || this.installing) return;
    const now = this.now();
    if (now - this.lastBlockAt > (this.o.timeoutMs ?? 60_000)) {
      await this.store.discard();
      this.current = undefined;
      return this.fail(d.offer, 'TRANSFER_TIMEOUT', `no block for ${Math.round((now - this.lastBlockAt) / 1000)} s`);
    }
    if (now - Math.max(this.lastBlockAt, this.lastAskAt) > (this.o.retryMs ?? 2000)) await this.ask();
  }

  private async finish(d: Download): Promise<void> {
    this.installing = true;
    try {
      this.progress(d, 'verifying', true);
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(this.store.partPath)) hash.update(chunk as Buffer);
      const sha = hash.digest('hex');
      if (sha !== d.offer.sha256) {
        await this.store.discard();
        this.current = undefined;
        return await this.fail(d.offer, 'HASH_MISMATCH', `the file's SHA-256 is ${sha.slice(0, 16)}…, the offer's ${d.offer.sha256.slice(0, 16)}…`);
      }
      this.progress(d, 'installing', true);
      let result: InstallResult;
      try {
        result = await this.o.agent.install(this.store.partPath, { force: d.offer.force });
      } catch (e) {
        const why = await explainInstallFault(e, this.o.root, `installing ${d.offer.bundle.name} ${d.offer.bundle.version}`, this.store.partPath);
        await this.store.discard();
        this.current = undefined;
        return await this.fail(d.offer, reasonOf(why), faultLine(why));
      }
      await this.store.discard();
      this.current = undefined;
      const state = await this.o.agent.state();
      const slot = state.active ?? 'A';
      const base = { v: 1 as const, transfer: d.offer.transfer, ts: this.now(), version: d.offer.bundle.version };
      if (result.status === 'committed') return await this.publishResult({ ...base, status: 'ok', slot }, true);
      const reason: Failure = result.status === 'rolled-back' ? 'HEALTH_CHECK_FAILED' : (REASONS[result.code ?? ''] ?? 'BAD_BUNDLE');
      return await this.publishResult({ ...base, status: 'failed', reason, message: result.message.slice(0, 2000), slot, rolledBack: result.status === 'rolled-back' }, true);
    } finally {
      this.installing = false;
    }
  }

  /** Called by the agent's event listener: the health check is a phase of its own. */
  agentEvent(e: AgentEvent): void {
    if (e.phase === 'health-check' && this.current) this.progress(this.current, 'health-check', true);
  }

  /** A download the disk refused: removed, and its transfer failed with the one line. */
  private async abort(d: Download, e: unknown): Promise<void> {
    if (!isDiskFault(e)) throw e;
    await this.store.discard();
    if (this.current === d) this.current = undefined;
    this.wanted = new Set();
    return this.fail(d.offer, reasonOf(e), faultLine(e));
  }

  private async fail(offer: OtaOffer, reason: Failure, message: string): Promise<void> {
    const state = await this.o.agent.state();
    const result: OtaResult = { v: 1, transfer: offer.transfer, ts: this.now(), version: offer.bundle.version, status: 'failed', reason, message: message.slice(0, 2000), slot: state.active ?? 'A', rolledBack: false };
    await this.publishResult(result, true);
  }

  private async publishResult(result: OtaResult, fresh: boolean): Promise<void> {
    if (fresh) {
      // A result that cannot be kept (a full or read-only disk) is still published; a repeated offer is
      // then tried again instead of answered from the file.
      await this.store.saveResult(result).catch((e: unknown) => this.say(`${result.transfer}: result not saved: ${errorText(e)}`));
      this.stats.results.push(result);
      this.say(result.status === 'ok' ? `${result.transfer}: ${result.version} installed, slot ${result.slot}` : `${result.transfer}: ${result.reason}: ${result.message}`);
    }
    await this.o.transport.publish(topics.ota(this.o.deviceId, 'result'), encodeMessage('ota-result', result), { qos: 1 }).catch(() => undefined);
    if (fresh) for (const s of this.settle.splice(0)) s(result);
  }
}
