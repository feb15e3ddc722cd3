/**
 * One pass of the pipeline over the queue's next `capacity` tiles, whichever images they belong to: cut
 * the tiles, let the channel KB choose every tile's action in one DQN run, encode them in one embedder
 * and one encoder run, then frame each tile and hand it to the link. An image's `image-meta` (QoS 1) is
 * published when its first tile enters a chunk, and its PUBACK is awaited only before that tile's frame
 * goes out, so the broker's round trip overlaps the encoder's run.
 */
import { fragmentSymbols, topics, type ImageMetaMessage, type SymbolDtype } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import type { EncodedTiles, TileEncoder } from '../jscc/encoder.js';
import type { ModelSet } from '../jscc/model-set.js';
import type { LinkDriver } from '../link/driver.js';
import type { ChannelPolicy, TileDecisions } from '../policy/policy.js';
import { TileBatch } from './batch.js';
import { nowMicros, type FrameLedger } from './frames.js';
import type { ChunkTimes, ImageJob } from './job.js';

export interface ChunkContext {
  set: ModelSet;
  encoder: TileEncoder;
  policy: ChannelPolicy;
  link: LinkDriver;
  ledger: FrameLedger;
  deviceId: string;
  headerDeviceId: number;
  sessionId: number;
  kbVersion: number;
  dtype: SymbolDtype;
  transport?: MqttTransport;
  onImageMeta?: (meta: ImageMetaMessage) => unknown;
  /** Tiles left in the queue drop by one for every tile put in a chunk. */
  taken: (tiles: number) => void;
  /** An image's pixels were let go (every tile cut, or the image failed). */
  released: (pixels: number) => void;
}

export class ChunkRunner {
  readonly batch: TileBatch;
  private readonly rowJob: (ImageJob | undefined)[];
  private readonly rowTile: Uint32Array;

  constructor(
    private readonly ctx: ChunkContext,
    capacity: number,
  ) {
    this.batch = new TileBatch(ctx.encoder.tile, ctx.set.channelKb?.complexityEdges ?? [], capacity);
    this.rowJob = new Array<ImageJob | undefined>(capacity);
    this.rowTile = new Uint32Array(capacity);
  }

  /** Runs one chunk from the head of the queue. Failures reject the jobs they touch; nothing throws. */
  async run(queue: readonly ImageJob[]): Promise<void> {
    const { ctx, batch } = this;
    const t0 = performance.now();
    batch.clear();
    const rows = new Map<ImageJob, number>();
    for (const job of queue) {
      if (batch.full) break;
      if (job.failed || job.remaining === 0) continue;
      if (!job.started) this.start(job);
      const first = batch.count;
      const image = job.image;
      while (job.next < job.tiles && !batch.full) {
        const row = batch.push(image, job.grid, job.next);
        this.rowJob[row] = job;
        this.rowTile[row] = job.next++;
      }
      if (job.next === job.tiles) this.release(job);
      rows.set(job, batch.count - first);
    }
    const n = batch.count;
    ctx.taken(n);
    if (n === 0) return;
    const t1 = performance.now();
    const snrEstimateDb = ctx.policy.snrEstimateDb;
    let decisions: TileDecisions, enc: EncodedTiles, times: ChunkTimes;
    try {
      decisions = await ctx.policy.choose(batch.cbins, n);
      const t2 = performance.now();
      enc = await ctx.encoder.encode({ tiles: batch.tiles, count: n, actions: decisions.actions, snrEstimateDb });
      times = { tile: t1 - t0, policy: t2 - t1, embed: enc.embedMs, encode: enc.encodeMs, frame: 0, send: 0, session: decisions.sessionMs + enc.sessionMs };
    } catch (e) {
      for (const job of rows.keys()) job.reject(e);
      this.rowJob.fill(undefined);
      return;
    }
    const { set, link } = ctx;
    const mtu = link.capabilities.mtu;
    for (let i = 0; i < n; i++) {
      const job = this.rowJob[i]!;
      this.rowJob[i] = undefined;
      if (job.failed) continue;
      let t = performance.now();
      if (job.metaSent) {
        try {
          await job.metaSent;
        } catch (e) {
          job.reject(e);
          continue;
        } finally {
          job.metaSent = undefined;
          times.send += performance.now() - t;
        }
        t = performance.now();
      }
      const a = decisions.actions[i]!;
      const action = set.actions[a]!;
      const frameId = (job.meta.firstFrameId + this.rowTile[i]!) >>> 0;
      const entry = enc.entries[i]!;
      ctx.ledger.record(frameId, decisions.snrBin, batch.cbins[i]!, a);
      let error: unknown;
      let bytes = 0;
      let fragments: Uint8Array[] = [];
      let t3 = t;
      try {
        fragments = fragmentSymbols(
          { deviceId: ctx.headerDeviceId, sessionId: ctx.sessionId, frameId, actionId: action.id, kbVersion: ctx.kbVersion, kbEntry: entry >= 0 ? entry : undefined, timestampUs: nowMicros() },
          enc.values.subarray(enc.offsets[i], enc.offsets[i + 1]),
          { mtu, dtype: ctx.dtype },
        );
        t3 = performance.now();
        times.frame += t3 - t;
        await link.send(fragments);
        for (const f of fragments) bytes += f.length;
      } catch (e) {
        error = e ?? new Error('send failed');
      }
      times.send += performance.now() - t3;
      const uses = enc.lengths[i]! + enc.indexUses[i]!;
      job.tileSent({
        actionId: action.id, ratePrefix: uses, power: 10 ** (action.powerDb / 10), latent: enc.lengths[i]!, indexUses: enc.indexUses[i]!,
        kbEntry: entry >= 0, fragments: fragments.length, bytes, ...(error === undefined ? {} : { error }),
      });
    }
    // The policy counts explored tiles per chunk, not per tile: each image gets its share.
    for (const [job, count] of rows) job.charge(times, count / n, snrEstimateDb, Math.round((decisions.explored * count) / n));
  }

  /** Lets go of a job's pixels (idempotent). */
  release(job: ImageJob): void {
    if (job.releasePixels()) this.ctx.released(job.width * job.height);
  }

  private start(job: ImageJob): void {
    job.started = true;
    const { ctx } = this;
    const sent = ctx.transport?.publish(topics.linkMeta(ctx.deviceId), job.metaText, { qos: 1 });
    sent?.catch(() => undefined);
    job.metaSent = sent;
    try {
      const r = ctx.onImageMeta?.(job.meta);
      if (r instanceof Promise) r.catch(() => undefined);
    } catch {
      // a failing observer must not stop the image
    }
  }
}
