/**
 * The edge's JSCC pipeline: an image becomes tiles, the channel KB picks each tile's action, the encoder
 * turns all tiles into power-scaled latent prefixes in one batch, and each tile travels as one frame
 * through the link driver, after an `image-meta` (QoS 1) that tells the receiver how to put the image
 * back together. Feedback from the receiver, through the link, updates the channel KB.
 *
 * Frames (v1 convention): tile i of an image is frame `firstFrameId + i` of the link session; the header
 * carries numericDeviceId(device id) (FNV-1a 32), the session id, the action id, the KB version id and, when an index is
 * sent, the KB entry. Images go out in call order; their tiles pass the models in chunks of `maxBatch`
 * (chunk.ts), which may span images, so memory stays flat for large images and small ones share a run.
 * A large image is decoded only once the one before has all its tiles cut, and after a garbage
 * collection when enough large buffers have died (memory.ts), so one image's pixels are resident at a time.
 */
import { AkbError, encodeMessage, numericDeviceId, topics, type FeedbackMessage, type ImageMetaMessage, type SymbolDtype } from '@akb/protocol';
import { Fanout, type MqttTransport } from '@akb/protocol/mqtt';
import { type BackendName, type BackendRegistry, decodeImage, type ModelSet, type RgbImage, tileCount, tileGrid } from '@akb/jscc';
import { type SourceKb, TileEncoder } from '../encode/encoder.js';
import type { LinkDriver } from '@akb/link';
import { ChannelPolicy, type ChannelPolicyOptions, type FeedbackOutcome } from '../policy/policy.js';
import { linkUseCeiling, type LinkCeiling } from '../policy/link-ceiling.js';
import { ChunkRunner } from './chunk.js';
import { ImageJob } from './job.js';
import { FrameLedger, randomSessionId } from './frames.js';
import { CHUNK_GARBAGE_PER_FRAME_BYTE, GarbageGate, PIXEL_BYTES, SCRATCH_BYTES_PER_PIXEL } from './memory.js';
import { emptyCounters, type FeedbackEvent, type ImageReport, type PipelineCounters } from './report.js';

export interface EdgePipelineOptions {
  deviceId: string;
  set: ModelSet;
  /** Where frames go; its feedback drives the policy. The pipeline closes it on close(). */
  link: LinkDriver;
  /** The edge's broker connection, for image-meta on topics.linkMeta(device) (QoS 1). */
  transport?: MqttTransport;
  /** Told of every image-meta before the image's frames (e.g. an in-process receiver). */
  onImageMeta?: (meta: ImageMetaMessage) => unknown;
  policy?: Omit<ChannelPolicyOptions, 'backends' | 'backendOrder'>;
  backends?: BackendRegistry;
  backendOrder?: readonly BackendName[];
  /** Most tiles per session.run (default 32: larger batches raise the peak memory, 370 MB at 384 tiles, for no speed). */
  maxBatch?: number;
  /** Collects garbage before a decode once enough large buffers died (default: one using `globalThis.gc`, a no-op without --expose-gc). */
  garbage?: GarbageGate;
  /** Link session id (default random). */
  sessionId?: number;
  /** Symbol dtype (default float32 when the link carries it, else the link's first choice). */
  dtype?: SymbolDtype;
  /** Frame id of the first tile (default 0). */
  firstFrameId?: number;
  /** `off` withholds an AKB set's source KB: no index sent, the global-mean prior, every use latent (default `on`; TileEncoder). */
  sourceKb?: SourceKb;
  /**
   * Time one tile's frame may take on a link that declares its rate, ms (default 1000; 0: no ceiling): the
   * policy allows no action above the link's ceiling (policy/link-ceiling.ts).
   */
  tileBudgetMs?: number;
  /** On a link rated in symbols/s: the link symbols that carry a fragment of n data symbols (default n; runtime.ts gives sdr-udp's bursts). */
  burstSymbols?: (dataSymbols: number) => number;
}

export class EdgePipeline {
  readonly sessionId: number;
  /** Device id in frame headers: numericDeviceId (FNV-1a 32) of the device id string. */
  readonly headerDeviceId: number;
  readonly kbVersion: number;
  readonly dtype: SymbolDtype;
  private readonly maxBatch: number;
  private readonly chunks: ChunkRunner;
  private readonly queue: ImageJob[] = [];
  private queued = 0;
  /** Pixels of queued images whose tiles are not all cut yet (their RgbImage is still held). */
  private heldPixels = 0;
  /** Images being decoded, not yet queued: the pump waits for them before reading the next file. */
  private decoding = 0;
  readonly garbage: GarbageGate;
  private waiters: { tiles: number; resolve: () => void }[] = [];
  private draining = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly ledger = new FrameLedger();
  private readonly counts = emptyCounters();
  private readonly feedbackListeners = new Fanout<FeedbackEvent>();
  private readonly stopFeedback: () => void;
  private nextFrameId: number;
  private imageSeq = 0;
  private closed = false;
  lastReport: ImageReport | undefined;
  lastFeedback: FeedbackEvent | undefined;

  private constructor(
    private readonly options: EdgePipelineOptions,
    readonly encoder: TileEncoder,
    readonly policy: ChannelPolicy,
  ) {
    const { set, link } = options;
    this.sessionId = (options.sessionId ?? randomSessionId()) >>> 0;
    this.headerDeviceId = numericDeviceId(options.deviceId);
    this.garbage = options.garbage ?? new GarbageGate();
    this.kbVersion = set.kb?.versionId ?? 0;
    this.dtype = pipelineDtype(options);
    this.nextFrameId = (options.firstFrameId ?? 0) >>> 0;
    this.maxBatch = Math.max(1, options.maxBatch ?? 32);
    this.chunks = new ChunkRunner(
      {
        set, encoder, policy, link, ledger: this.ledger, deviceId: options.deviceId, headerDeviceId: this.headerDeviceId, sessionId: this.sessionId,
        kbVersion: this.kbVersion, dtype: this.dtype, transport: options.transport, onImageMeta: options.onImageMeta,
        taken: (tiles) => {
          this.queued -= tiles;
        },
        released: (pixels) => {
          this.heldPixels -= pixels;
          this.garbage.died(pixels * PIXEL_BYTES);
        },
      },
      this.maxBatch,
    );
    topics.linkMeta(options.deviceId); // checks the device id now
    this.stopFeedback = link.onFeedback((f) => void this.handleFeedback(f));
  }

  /** Creates the sessions; the pipeline then keeps the set without its ONNX bytes (`set`). */
  static async create(options: EdgePipelineOptions): Promise<EdgePipeline> {
    const shared = { backends: options.backends, backendOrder: options.backendOrder };
    const encoder = await TileEncoder.create(options.set, { ...shared, maxBatch: options.maxBatch, sourceKb: options.sourceKb });
    try {
      const linkCeiling = pipelineLinkCeiling(options);
      const policy = await ChannelPolicy.create(options.set, { ...options.policy, ...shared, ...(linkCeiling ? { linkCeiling } : {}) });
      return new EdgePipeline({ ...options, set: encoder.set }, encoder, policy);
    } catch (e) {
      await encoder.release();
      throw e;
    }
  }

  get counters(): Readonly<PipelineCounters> {
    return { ...this.counts };
  }

  /** The set, less its ONNX bytes (the sessions hold the weights). */
  get set(): ModelSet {
    return this.options.set;
  }

  /** The backend each model runs on (encoder, embedder, policy): the first of the order that loaded it. */
  get backends(): Partial<Record<'encoder' | 'embedder' | 'policy', BackendName>> {
    const policy = this.policy.backend;
    return { ...this.encoder.backends, ...(policy ? { policy } : {}) };
  }

  /** Listens to the feedback the policy learned from; returns a function that stops listening. */
  onFeedback(listener: (event: FeedbackEvent) => unknown): () => void {
    return this.feedbackListeners.on(listener);
  }

  /**
   * Decodes PNG/JPEG bytes and sends the image; BAD_IMAGE for bytes that are not one. Until the image is
   * queued, `ready()` waits: a pump that asked before the decode ended would otherwise read and decode the
   * next file while this image's pixels are still held.
   */
  async sendBytes(bytes: Uint8Array, name = 'image'): Promise<ImageReport> {
    this.decoding++;
    let image: RgbImage;
    let ms: number;
    try {
      this.garbage.collectIfDue(); // the last image's pixels, before this one's decode adds its own
      const t0 = performance.now();
      image = await decodeImage(bytes, name);
      ms = performance.now() - t0;
    } catch (e) {
      this.decoding--;
      this.wake();
      this.counts.imagesFailed++;
      throw e;
    }
    this.garbage.died(bytes.length + image.width * image.height * SCRATCH_BYTES_PER_PIXEL);
    this.garbage.collectIfDue(); // the decoder's scratch, while the pixels stay
    try {
      return this.sendImage(image, name, ms);
    } finally {
      this.decoding--;
      this.wake();
    }
  }

  /**
   * Sends one image (planar RGB in [0, 1]). Images are sent in call order; their tiles go through the
   * encoder in chunks of `maxBatch`, which may hold tiles of several images, so a caller that keeps a
   * few images queued (see `ready`) gets one session.run for many small images.
   */
  sendImage(image: RgbImage, name = 'image', decodeMs?: number): Promise<ImageReport> {
    try {
      if (this.closed) throw new AkbError('PIPELINE_CLOSED', 'the edge pipeline is closed');
      const job = this.enqueue(image, name, decodeMs);
      this.kick();
      return job.promise;
    } catch (e) {
      this.counts.imagesFailed++;
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Tiles queued and not yet encoded. */
  get queuedTiles(): number {
    return this.queued;
  }

  /**
   * Resolves when fewer than `tiles` tiles (default two batches) wait for the encoder: a source that
   * awaits this before each image keeps the encoder's batches full without holding many images.
   */
  ready(tiles = 2 * this.maxBatch): Promise<void> {
    if (this.isReady(tiles)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ tiles, resolve }));
  }

  private enqueue(image: RgbImage, name: string, decodeMs: number | undefined): ImageJob {
    if (!(image.width >= 1 && image.height >= 1 && image.width <= 65535 && image.height <= 65535) || image.data.length !== 3 * image.width * image.height) {
      throw new AkbError('BAD_IMAGE', `${name}: ${image.width}x${image.height} with ${image.data.length} values cannot be sent`, {
        hint: 'an image is planar RGB of 3 x width x height values, at most 65535 pixels a side',
      });
    }
    const grid = tileGrid(image.width, image.height, this.chunks.batch.tile);
    const n = tileCount(grid);
    const firstFrameId = this.nextFrameId;
    const meta: ImageMetaMessage = {
      v: 1, session: this.sessionId, image: this.imageSeq, name: name.slice(0, 256), width: image.width, height: image.height,
      tile: this.chunks.batch.tile, tiles: n, firstFrameId, modelSet: this.options.set.name, kbVersion: this.kbVersion, ts: Date.now(),
    };
    const metaText = encodeMessage('image-meta', meta); // refuses what a receiver could not take, before anything is spent
    this.imageSeq = (this.imageSeq + 1) >>> 0;
    this.nextFrameId = (firstFrameId + n) >>> 0;
    const job = new ImageJob(image, name, grid, n, meta, metaText, decodeMs);
    this.queue.push(job);
    this.queued += n;
    this.heldPixels += image.width * image.height;
    return job;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    this.idle = this.drain();
  }

  /**
   * Prepares chunk k+1 (cut, model runs) before awaiting chunk k's frames: with a backend that runs off
   * the main thread, framing and publishing overlap with the models. (onnxruntime-node's CPU run blocks
   * the main thread once it starts, so there the order changes and the cost does not.) Images are
   * finished in order as their tiles are sent.
   */
  private async drain(): Promise<void> {
    let sending: Promise<unknown> = Promise.resolve();
    try {
      for (;;) {
        this.garbage.collectIfDue();
        const next = await this.guard(() => this.chunks.prepare(this.queue));
        await sending;
        this.settleHead();
        if (next === undefined) {
          if (this.queue.length === 0 || !this.queue.some((j) => j.remaining > 0 && !j.failed)) break;
          continue;
        }
        sending = this.guard(async () => this.garbage.died(CHUNK_GARBAGE_PER_FRAME_BYTE * (await this.chunks.send(next))));
      }
    } finally {
      // cleared before any caller resumes, so a call made on a resolved image starts a new drain
      this.draining = false;
      this.wake();
    }
    if (this.queue.some((j) => j.remaining > 0 && !j.failed)) this.kick();
  }

  /** Runs a chunk step; a throw is a bug, not an input: the images it touched fail, the pipeline goes on. */
  private async guard<T>(step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (e) {
      for (const j of this.queue) if (j.started && !j.finished) j.reject(e);
      return undefined;
    }
  }

  /** Finishes the images at the head of the queue whose tiles are all sent (or that failed). */
  private settleHead(): void {
    for (let j = this.queue[0]; j && (j.failed || j.finished); j = this.queue[0]) {
      this.queue.shift();
      this.finish(j);
    }
    this.wake();
  }

  private finish(job: ImageJob): void {
    // A failed image's uncut tiles leave the queue, and its pixels are let go.
    this.queued -= job.tiles - job.next;
    job.next = job.tiles;
    this.chunks.release(job);
    if (job.failed) {
      this.counts.imagesFailed++;
      return;
    }
    if (job.dropped === job.tiles && job.tiles > 0) {
      job.reject(job.firstError instanceof Error ? job.firstError : new AkbError('SEND_FAILED', `no frame of ${job.name} could be sent`));
      this.counts.imagesFailed++;
      return;
    }
    const report = job.report();
    this.counts.images++;
    this.counts.framesSent += job.tiles - job.dropped;
    this.counts.framesDropped += job.dropped;
    this.counts.fragmentsSent += report.fragments;
    this.counts.bytesSent += report.bytes;
    this.lastReport = report;
    job.resolve();
  }

  /**
   * No image is being decoded, few enough tiles wait, and the images held hold at most `tiles` tiles'
   * worth of pixels, unless none is held: small images queue up to fill batches, while a large image is
   * let go (all its tiles cut) before the next is decoded, so two large images never sit in memory together.
   */
  private isReady(tiles: number): boolean {
    if (this.closed) return true;
    if (this.decoding > 0) return false;
    const tilePixels = this.chunks.batch.tile ** 2;
    return this.queued < tiles && (this.heldPixels === 0 || this.heldPixels < tiles * tilePixels);
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (this.isReady(w.tiles)) w.resolve();
      else this.waiters.push(w);
    }
  }

  /**
   * Feedback on one frame (wired to the link's feedback; an in-process receiver may call it): the policy
   * learns from it. Returns what was learned, or undefined for feedback of another session, of an
   * unknown frame, or repeated.
   */
  handleFeedback(feedback: FeedbackMessage): FeedbackOutcome | undefined {
    this.counts.feedbackReceived++;
    if (feedback.kbVersionMismatch) this.counts.kbVersionMismatches++;
    const decision = feedback.session === this.sessionId ? this.ledger.take(feedback.frameId) : undefined;
    if (!decision) {
      this.counts.feedbackIgnored++;
      return undefined;
    }
    const { fragmentsExpected, fragmentsLost } = feedback.erasures;
    const lost = fragmentsExpected > 0 && fragmentsLost >= fragmentsExpected;
    this.counts.fragmentsLost += fragmentsLost;
    if (lost) this.counts.framesLost++;
    const outcome = this.policy.observe(decision, { snrDb: feedback.snrDb, psnr: feedback.psnr, lost });
    const event: FeedbackEvent = {
      frameId: feedback.frameId, snrDb: feedback.snrDb, actionId: this.options.set.actions[decision.action]!.id, outcome,
      ...(feedback.psnr === undefined ? {} : { psnr: feedback.psnr }),
    };
    this.lastFeedback = event;
    this.feedbackListeners.emit(event);
    return outcome;
  }

  /** Waits for the image being sent, stops listening for feedback, releases the models, closes the link. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    do await this.idle;
    while (this.draining);
    this.stopFeedback();
    await Promise.allSettled([this.encoder.release(), this.policy.release()]);
    await this.options.link.close();
  }
}

/** The dtype frames are encoded with: the option, else float32 when the link carries it, else the link's first choice. */
function pipelineDtype({ dtype, link }: EdgePipelineOptions): SymbolDtype {
  return dtype ?? (link.capabilities.dtypes.includes('float32') ? 'float32' : (link.capabilities.dtypes[0] ?? 'float32'));
}

/** The link's ceiling on a tile's uses at the pipeline's dtype; undefined when the link declares no rate. */
function pipelineLinkCeiling(options: EdgePipelineOptions): LinkCeiling | undefined {
  const { mtu, rate } = options.link.capabilities;
  const model = { mtu, dtype: pipelineDtype(options), ...rate, ...(options.burstSymbols ? { burstSymbols: options.burstSymbols } : {}) };
  return linkUseCeiling(model, options.tileBudgetMs ?? 1000);
}
