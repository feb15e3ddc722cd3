/**
 * One pass of the pipeline over the queue's next `capacity` tiles, whichever images they belong to: cut
 * the tiles, let the channel KB choose every tile's action in one DQN run, encode them in one embedder
 * and one encoder run (`prepare`), then frame each tile and hand it to the link (`send`). The pipeline
 * starts chunk k+1's models before it awaits chunk k's frames. An image's `image-meta` (QoS 1) is
 * published when its first tile enters a chunk, and its PUBACK is awaited only before that tile's frame
 * goes out, so the broker's round trip overlaps the encoder's run.
 */
import { fragmentSymbols, topics, type ImageMetaMessage, type SymbolDtype } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import type { TileEncoder } from '../encode/encoder.js';
import type { ModelSet } from '@akb/jscc';
import type { LinkDriver } from '@akb/link';
import type { ChannelPolicy } from '../policy/policy.js';
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

/** A chunk after its model runs: everything its frames need, copied out of the reused buffers. */
export interface PreparedChunk {
  n: number;
  rows: Map<ImageJob, number>;
  rowJob: ImageJob[];
  rowTile: Uint32Array;
  cbins: Uint8Array;
  actions: Uint16Array;
  snrBin: number;
  explored: number;
  snrEstimateDb: number;
  values: Float32Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  entries: Int32Array;
  indexUses: Uint32Array;
  times: ChunkTimes;
}

export class ChunkRunner {
  readonly batch: TileBatch;
  private readonly rowTile: Uint32Array;

  constructor(
    private readonly ctx: ChunkContext,
    capacity: number,
  ) {
    this.batch = new TileBatch(ctx.encoder.tile, ctx.set.channelKb?.complexityEdges ?? [], capacity);
    this.rowTile = new Uint32Array(capacity);
  }

  /**
   * Cuts the queue's next tiles and runs the models on them; what comes back is a copy, so the next
   * chunk can be prepared while this one is sent. Undefined when no tile is left to cut. A model failure
   * rejects the images it touched.
   */
  async prepare(queue: readonly ImageJob[]): Promise<PreparedChunk | undefined> {
    const { ctx, batch } = this;
    const t0 = performance.now();
    batch.clear();
    const rows = new Map<ImageJob, number>();
    const rowJob: ImageJob[] = [];
    for (const job of queue) {
      if (batch.full) break;
      if (job.failed || job.remaining === 0) continue;
      if (!job.started) this.start(job);
      const first = batch.count;
      const image = job.image;
      while (job.next < job.tiles && !batch.full) {
        const row = batch.push(image, job.grid, job.next);
        rowJob[row] = job;
        this.rowTile[row] = job.next++;
      }
      if (job.next === job.tiles) this.release(job);
      rows.set(job, batch.count - first);
    }
    const n = batch.count;
    ctx.taken(n);
    if (n === 0) return undefined;
    const t1 = performance.now();
    const snrEstimateDb = ctx.policy.snrEstimateDb;
    try {
      const decisions = await ctx.policy.choose(batch.cbins, n);
      const t2 = performance.now();
      const enc = await ctx.encoder.encode({ tiles: batch.tiles, count: n, actions: decisions.actions, snrEstimateDb });
      return {
        n, rows, rowJob, rowTile: this.rowTile.slice(0, n), cbins: batch.cbins.slice(0, n), actions: decisions.actions.slice(0, n),
        snrBin: decisions.snrBin, explored: decisions.explored, snrEstimateDb,
        values: enc.values.slice(0, enc.offsets[n]), offsets: enc.offsets.slice(0, n + 1), lengths: enc.lengths.slice(0, n),
        entries: enc.entries.slice(0, n), indexUses: enc.indexUses.slice(0, n),
        times: { tile: t1 - t0, policy: t2 - t1, embed: enc.embedMs, encode: enc.encodeMs, frame: 0, send: 0, session: decisions.sessionMs + enc.sessionMs },
      };
    } catch (e) {
      for (const job of rows.keys()) job.reject(e);
      return undefined;
    }
  }

  /** Frames each tile of a prepared chunk and hands it to the link; returns the bytes framed. Failures drop tiles; nothing throws. */
  async send(c: PreparedChunk): Promise<number> {
    const { ctx } = this;
    const { set, link } = ctx;
    const { n, times } = c;
    const mtu = link.capabilities.mtu;
    let framed = 0;
    for (let i = 0; i < n; i++) {
      const job = c.rowJob[i]!;
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
      const a = c.actions[i]!;
      const action = set.actions[a]!;
      const frameId = (job.meta.firstFrameId + c.rowTile[i]!) >>> 0;
      const entry = c.entries[i]!;
      ctx.ledger.record(frameId, c.snrBin, c.cbins[i]!, a);
      let error: unknown;
      let bytes = 0;
      let fragments: Uint8Array[] = [];
      let t3 = t;
      try {
        fragments = fragmentSymbols(
          { deviceId: ctx.headerDeviceId, sessionId: ctx.sessionId, frameId, actionId: action.id, kbVersion: ctx.kbVersion, kbEntry: entry >= 0 ? entry : undefined, timestampUs: nowMicros() },
          c.values.subarray(c.offsets[i], c.offsets[i + 1]),
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
      framed += bytes;
      const uses = c.lengths[i]! + c.indexUses[i]!;
      job.tileSent({
        actionId: action.id, ratePrefix: uses, power: 10 ** (action.powerDb / 10), latent: c.lengths[i]!, indexUses: c.indexUses[i]!,
        kbEntry: entry >= 0, fragments: fragments.length, bytes, ...(error === undefined ? {} : { error }),
      });
    }
    // The policy counts explored tiles per chunk, not per tile: each image gets its share.
    for (const [job, count] of c.rows) job.charge(times, count / n, c.snrEstimateDb, Math.round((c.explored * count) / n));
    return framed;
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
