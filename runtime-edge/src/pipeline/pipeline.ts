/**
 * The edge's JSCC pipeline: an image becomes tiles, the channel KB picks each tile's action, the encoder
 * turns all tiles into power-scaled latent prefixes in one batch, and each tile travels as one frame
 * through the link driver, after an `image-meta` (QoS 1) that tells the receiver how to put the image
 * back together. Feedback from the receiver, through the link, updates the channel KB.
 *
 * Frames (v1 convention): tile i of an image is frame `firstFrameId + i` of the link session; the header
 * carries FNV-1a(device id), the session id, the action id, the KB version id and, when an index is
 * sent, the KB entry. Images are sent one at a time (calls queue), so buffers are reused between images.
 */
import { AkbError, encodeMessage, fragmentSymbols, topics, type FeedbackMessage, type ImageMetaMessage, type SymbolDtype } from '@akb/protocol';
import { Fanout, type MqttTransport } from '@akb/protocol/mqtt';
import { decodeImage, type RgbImage } from '../image/codec.js';
import type { BackendName } from '../inference/backend.js';
import type { BackendRegistry } from '../inference/registry.js';
import { TileEncoder } from '../jscc/encoder.js';
import type { ModelSet } from '../jscc/model-set.js';
import type { LinkDriver } from '../link/driver.js';
import { ChannelPolicy, type ChannelPolicyOptions, type FeedbackOutcome } from '../policy/policy.js';
import { TileBatch } from './batch.js';
import { FrameLedger, fnv1a32, nowMicros, randomSessionId } from './frames.js';
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
  /** Link session id (default random). */
  sessionId?: number;
  /** Symbol dtype (default float32 when the link carries it, else the link's first choice). */
  dtype?: SymbolDtype;
  /** Frame id of the first tile (default 0). */
  firstFrameId?: number;
}

export class EdgePipeline {
  readonly sessionId: number;
  /** Device id in frame headers: FNV-1a of the device id string. */
  readonly headerDeviceId: number;
  readonly kbVersion: number;
  readonly dtype: SymbolDtype;
  private readonly batch: TileBatch;
  private readonly ledger = new FrameLedger();
  private readonly counts = emptyCounters();
  private readonly feedbackListeners = new Fanout<FeedbackEvent>();
  private readonly stopFeedback: () => void;
  private nextFrameId: number;
  private imageSeq = 0;
  private tail: Promise<unknown> = Promise.resolve();
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
    this.headerDeviceId = fnv1a32(options.deviceId);
    this.kbVersion = set.kb?.versionId ?? 0;
    this.dtype = options.dtype ?? (link.capabilities.dtypes.includes('float32') ? 'float32' : (link.capabilities.dtypes[0] ?? 'float32'));
    this.nextFrameId = (options.firstFrameId ?? 0) >>> 0;
    this.batch = new TileBatch(encoder.tile, set.channelKb?.complexityEdges ?? []);
    topics.linkMeta(options.deviceId); // checks the device id now
    this.stopFeedback = link.onFeedback((f) => void this.handleFeedback(f));
  }

  static async create(options: EdgePipelineOptions): Promise<EdgePipeline> {
    const shared = { backends: options.backends, backendOrder: options.backendOrder };
    const encoder = await TileEncoder.create(options.set, { ...shared, maxBatch: options.maxBatch });
    try {
      const policy = await ChannelPolicy.create(options.set, { ...options.policy, ...shared });
      return new EdgePipeline(options, encoder, policy);
    } catch (e) {
      await encoder.release();
      throw e;
    }
  }

  get counters(): Readonly<PipelineCounters> {
    return { ...this.counts };
  }

  get set(): ModelSet {
    return this.options.set;
  }

  /** Listens to the feedback the policy learned from; returns a function that stops listening. */
  onFeedback(listener: (event: FeedbackEvent) => unknown): () => void {
    return this.feedbackListeners.on(listener);
  }

  /** Decodes PNG/JPEG bytes and sends the image; BAD_IMAGE for bytes that are not one. */
  async sendBytes(bytes: Uint8Array, name = 'image'): Promise<ImageReport> {
    const t0 = performance.now();
    let image: RgbImage;
    try {
      image = await decodeImage(bytes, name);
    } catch (e) {
      this.counts.imagesFailed++;
      throw e;
    }
    return this.sendImage(image, name, performance.now() - t0);
  }

  /** Sends one image (planar RGB in [0, 1]); calls queue behind each other. */
  sendImage(image: RgbImage, name = 'image', decodeMs?: number): Promise<ImageReport> {
    if (this.closed) return Promise.reject(new AkbError('PIPELINE_CLOSED', 'the edge pipeline is closed'));
    const run = this.tail.then(() => this.send(image, name, decodeMs));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async send(image: RgbImage, name: string, decodeMs: number | undefined): Promise<ImageReport> {
    try {
      return await this.sendNow(image, name, decodeMs);
    } catch (e) {
      this.counts.imagesFailed++;
      throw e;
    }
  }

  private async sendNow(image: RgbImage, name: string, decodeMs: number | undefined): Promise<ImageReport> {
    const { set, link } = this.options;
    const t0 = performance.now();
    if (!(image.width <= 65535 && image.height <= 65535) || image.data.length !== 3 * image.width * image.height) {
      throw new AkbError('BAD_IMAGE', `${name}: ${image.width}x${image.height} with ${image.data.length} values cannot be sent`, {
        hint: 'an image is planar RGB of 3 x width x height values, at most 65535 pixels a side',
      });
    }
    const batch = this.batch.fill(image);
    const n = batch.count;
    const firstFrameId = this.nextFrameId;
    const meta: ImageMetaMessage = {
      v: 1, session: this.sessionId, image: this.imageSeq, name: name.slice(0, 256), width: image.width, height: image.height,
      tile: batch.tile, tiles: n, firstFrameId, modelSet: set.name, kbVersion: this.kbVersion, ts: Date.now(),
    };
    const metaText = encodeMessage('image-meta', meta); // refuses what a receiver could not take, before anything is spent
    this.imageSeq = (this.imageSeq + 1) >>> 0;
    this.nextFrameId = (firstFrameId + n) >>> 0;
    // image-meta goes out now, and its PUBACK is awaited only before the first frame: the broker's round
    // trip overlaps the encoder's run instead of adding to it.
    const metaSent = this.options.transport?.publish(topics.linkMeta(this.options.deviceId), metaText, { qos: 1 });
    metaSent?.catch(() => undefined);
    this.tell(meta);
    const t1 = performance.now();
    const snrEstimateDb = this.policy.snrEstimateDb;
    const decisions = await this.policy.choose(batch.cbins, n);
    const t2 = performance.now();
    const enc = await this.encoder.encode({ tiles: batch.tiles, count: n, actions: decisions.actions, snrEstimateDb });
    let sendMs = 0;
    let frameMs = 0;
    let t = performance.now();
    await metaSent;
    sendMs += performance.now() - t;
    const actions: Record<number, number> = {};
    const mtu = link.capabilities.mtu;
    let channelUses = 0, latentSymbols = 0, indexUses = 0, kbEntries = 0, fragmentsSent = 0, bytes = 0, dropped = 0;
    let firstError: unknown;
    for (let i = 0; i < n; i++) {
      t = performance.now();
      const a = decisions.actions[i]!;
      const action = set.actions[a]!;
      const frameId = (firstFrameId + i) >>> 0;
      const entry = enc.entries[i]!;
      this.ledger.record(frameId, decisions.snrBin, batch.cbins[i]!, a);
      const fragments = fragmentSymbols(
        { deviceId: this.headerDeviceId, sessionId: this.sessionId, frameId, actionId: action.id, kbVersion: this.kbVersion, kbEntry: entry >= 0 ? entry : undefined, timestampUs: nowMicros() },
        enc.values.subarray(enc.offsets[i], enc.offsets[i + 1]),
        { mtu, dtype: this.dtype },
      );
      const t3 = performance.now();
      frameMs += t3 - t;
      try {
        await link.send(fragments);
        fragmentsSent += fragments.length;
        for (const f of fragments) bytes += f.length;
      } catch (e) {
        dropped++;
        firstError ??= e;
      }
      sendMs += performance.now() - t3;
      actions[action.id] = (actions[action.id] ?? 0) + 1;
      channelUses += enc.lengths[i]! + enc.indexUses[i]!;
      latentSymbols += enc.lengths[i]!;
      indexUses += enc.indexUses[i]!;
      if (entry >= 0) kbEntries++;
    }
    this.counts.framesDropped += dropped;
    if (dropped === n) throw firstError instanceof Error ? firstError : new AkbError('SEND_FAILED', `no frame of ${name} could be sent`);
    this.counts.images++;
    this.counts.framesSent += n - dropped;
    this.counts.fragmentsSent += fragmentsSent;
    this.counts.bytesSent += bytes;
    const total = performance.now() - t0 + (decodeMs ?? 0);
    const report: ImageReport = {
      name, image: meta.image, width: image.width, height: image.height, tiles: n, firstFrameId, actions,
      channelUses, latentSymbols, indexUses, kbEntries, explored: decisions.explored, fragments: fragmentsSent, bytes,
      framesDropped: dropped, snrEstimateDb,
      ...(n > 0 ? { lastAction: this.actionOf(decisions.actions[n - 1]!, enc.lengths[n - 1]! + enc.indexUses[n - 1]!) } : {}),
      ms: {
        ...(decodeMs === undefined ? {} : { decode: decodeMs }),
        tile: t1 - t0, policy: t2 - t1, embed: enc.embedMs, encode: enc.encodeMs, frame: frameMs, send: sendMs, total,
        session: decisions.sessionMs + enc.sessionMs,
      },
    };
    this.lastReport = report;
    return report;
  }

  private actionOf(action: number, uses: number): { id: number; ratePrefix: number; power: number } {
    const a = this.options.set.actions[action]!;
    return { id: a.id, ratePrefix: uses, power: 10 ** (a.powerDb / 10) };
  }

  private tell(meta: ImageMetaMessage): void {
    try {
      const r = this.options.onImageMeta?.(meta);
      if (r instanceof Promise) r.catch(() => undefined);
    } catch {
      // a failing observer must not stop the image
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
    await this.tail;
    this.stopFeedback();
    await Promise.allSettled([this.encoder.release(), this.policy.release()]);
    await this.options.link.close();
  }
}
