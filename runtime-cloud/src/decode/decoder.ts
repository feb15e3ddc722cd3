/**
 * The cloud decoder: receives the frames of every device after the channel (`link/rx`) and their
 * `image-meta` (`link/meta`), reassembles fragments (a lost fragment is an erasure), decodes each tile,
 * publishes `feedback` to its edge and assembles images (images.ts).
 *
 * Work sharing. With `shared: true` the frames arrive through `$share/<group>/akb/v1/dev/+/link/rx`, so
 * several cloud processes split a fleet's frames (Mosquitto, EMQX, HiveMQ, VerneMQ honour it; aedes does
 * not: it keeps `$share/...` as a literal filter no topic matches, so leave `shared` off there). Every
 * worker still subscribes to all metas. A shared worker reports the tiles it did not get as `elsewhere`
 * rather than decoding them from the prior, since another worker has them. Inside one process, `workers`
 * decode lanes (worker threads) decode in parallel behind one subscription, and images stay whole.
 *
 * Robustness: malformed frames and metas, unknown model sets and actions are counted, never fatal; a
 * frame is decoded at most once (device/session/frame remembered in bounded memory, which also covers QoS
 * 1 redelivery after a broker restart); a frame naming a KB version this cloud does not hold is answered
 * with `kbVersionMismatch` feedback and not decoded with the wrong prior. What a meta announces is bounded
 * before anything is allocated (limits.ts: image size, tiles, open images and bytes per device and in
 * all); a refused meta is counted and logged (at most once per device every 10 s). Lost tiles are filled
 * in batches (tile-pipeline.ts), never all at once.
 *
 * Scope: with `scope` (akb-cloud --devices) metas and frames are subscribed per device, or through the
 * wildcard and checked here; a device outside is counted (`outOfScope`) and ignored.
 *
 * Stopping: no new frames; tiles queued for a lane are dropped (`decodesCancelled`), batches running
 * finish; open images are finished as `stopped` without decoding what never arrived; the lanes close.
 */
import { AkbError, Reassembler, decodeMessage, filters, isAkbError, parseDeviceTopic, type ImageMetaMessage, type ReassembledFrame } from '@akb/protocol';
import { Fanout, type AkbMessage } from '@akb/protocol/mqtt';
import { BoundedSet } from './bounded-set.js';
import { OrphanFrames } from './orphans.js';
import { decodeTile, lostTiles, type SetRuntime, type TileContext } from './tile-pipeline.js';
import { ImageBook, type FinishReason, type ImageResult, type ImageState, type ImageSummary } from './images.js';
import { imageLimits, type ImageLimits, type MetaRefusal } from './limits.js';
import { DeviceScope } from '../scope.js';
import { staticKbStore, type KbStore } from '../control/kb-service.js';
import { DEFAULT_WEIGHTS, type RewardWeights } from './reward.js';
import { TileDecoder } from './tile-decoder.js';
import type { CloudDecoderOptions } from './options.js';
import { countMalformed, emptyStats, type DecoderStats } from './stats.js';

export type { CloudDecoderOptions } from './options.js';

const MAX_ORPHANS = 4096;
const MAX_DEVICES = 4096;
const TICK_MS = 50;
/** A device's refused metas are logged at most once per this long (the count is in the stats). */
const REFUSAL_LOG_MS = 10_000;

export class CloudDecoder {
  /** Every finished image, to listeners isolated from each other. */
  readonly images = new Fanout<ImageResult>();
  private readonly runtimes = new Map<string, SetRuntime>();
  private readonly reassemblers = new Map<string, Reassembler>();
  private readonly decoded: BoundedSet;
  private readonly seenMetas = new BoundedSet(65_536);
  private readonly orphans = new OrphanFrames(MAX_ORPHANS);
  private readonly book: ImageBook;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly counters: DecoderStats = emptyStats();
  private readonly ctx: TileContext;
  private readonly now: () => number;
  private readonly rxFilters: string[];
  private readonly metaFilters: string[];
  private readonly scope: DeviceScope;
  private readonly maxSymbols: number;
  private readonly refusalLogged = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private unroute: (() => void)[] = [];
  private stopped = false;

  private constructor(private readonly options: CloudDecoderOptions, runtimes: SetRuntime[]) {
    for (const rt of runtimes) this.runtimes.set(rt.set.name, rt);
    this.now = options.now ?? Date.now;
    this.decoded = new BoundedSet(options.dedupeCapacity ?? 200_000);
    this.book = new ImageBook({
      imageTimeoutMs: options.imageTimeoutMs ?? 3000,
      ringSize: options.ringSize ?? 16,
      limits: imageLimits(options.limits),
      now: this.now,
      ...(options.references ? { references: options.references } : {}),
      onReferenceError: (e, name) => {
        this.counters.referenceFailures++;
        this.report(e, { what: 'reference', name });
      },
    });
    // The sets' own KBs always decode the frames that name them; a KB service (options.kb) adds the versions
    // it hosts. Without this, a cloud whose service hosts one set's KB would refuse another set's frames.
    const own = staticKbStore(...options.sets.map((s) => s.kb));
    const hosted = options.kb;
    const kb: KbStore = hosted === undefined ? own : { get current() { return hosted.current ?? own.current; }, get: (v) => hosted.get(v) ?? own.get(v) };
    const weights = options.weights ?? ((): RewardWeights => options.sets.find((s) => s.channelKb)?.channelKb?.reward ?? DEFAULT_WEIGHTS);
    this.ctx = { client: options.client, kb, book: this.book, stats: this.counters, weights, now: this.now, report: (e, c) => this.report(e, c) };
    this.scope = options.scope ?? DeviceScope.all();
    const rx = this.scope.filters('link/rx');
    this.rxFilters = options.shared === true ? rx.map((f) => filters.shared(options.group ?? 'cloud', f)) : rx;
    this.metaFilters = this.scope.filters('link/meta');
    this.maxSymbols = Math.max(...runtimes.map((r) => r.decoder.width / 2));
    if (options.onImage) this.images.on(options.onImage);
  }

  /** Loads a decoder per set and starts receiving. */
  static async start(options: CloudDecoderOptions): Promise<CloudDecoder> {
    if (options.sets.length === 0) throw new AkbError('NO_MODEL_SET', 'the cloud decoder needs at least one model set', { hint: 'pass --set <name>' });
    const runtimes: SetRuntime[] = [];
    try {
      for (const set of options.sets) {
        const decoder = await TileDecoder.create(set, {
          lanes: options.workers ?? 1,
          lane: options.lane ?? 'thread',
          intraOpThreads: options.intraOpThreads ?? 1,
          maxBatch: options.maxBatch ?? 64,
          ...(options.laneFactory ? { laneFactory: options.laneFactory } : {}),
        });
        runtimes.push({ set, decoder });
      }
    } catch (e) {
      await Promise.all(runtimes.map((r) => r.decoder.close()));
      throw e;
    }
    const d = new CloudDecoder(options, runtimes);
    const c = options.client;
    // Routed by the wildcard, subscribed per the scope: a message another subscription of this client
    // brings in is still checked against the scope.
    d.unroute = [c.onMessage(filters.allLinkMeta, (m) => d.onMeta(m)), c.onMessage(filters.allLinkRx, (m) => d.onFrame(m))];
    for (const f of d.metaFilters) await c.subscribe(f, { qos: 1 });
    for (const f of d.rxFilters) await c.subscribe(f, { qos: 1 });
    d.timer = setInterval(() => d.tick(), TICK_MS);
    d.timer.unref();
    return d;
  }

  get stats(): DecoderStats {
    const decoders = Object.fromEntries([...this.runtimes].map(([name, rt]) => [name, rt.decoder.stats]));
    let repeats = this.counters.fragmentsDuplicate;
    for (const r of this.reassemblers.values()) repeats += r.stats.late + r.stats.duplicates;
    return {
      ...this.counters,
      fragmentsDuplicate: repeats,
      malformedByCode: { ...this.counters.malformedByCode },
      metasRefusedByReason: { ...this.counters.metasRefusedByReason },
      outOfScope: { ...this.counters.outOfScope },
      openImages: this.book.openImages,
      openImageBytes: this.book.openBytes,
      orphans: this.orphans.size,
      decoders,
    };
  }

  /** The subscriptions frames arrive on. */
  get frameFilters(): readonly string[] {
    return this.rxFilters;
  }

  /** Recent results without pixels, oldest first. */
  recent(): ImageSummary[] {
    return this.book.recent();
  }

  /** The size limits and budgets in force (limits.ts). */
  get limits(): Readonly<ImageLimits> {
    return this.book.limits;
  }

  /**
   * Stops receiving; drops tiles queued for a lane and frames still being reassembled, waits up to
   * `drainMs` (default 2000) for the batches running and their feedback (a publish may wait on a broker
   * that is gone), finishes open images ('stopped', without decoding what never arrived) and closes the
   * lanes. With `unsubscribe` (default true) it then unsubscribes, which waits on the broker; a caller
   * that closes the connection anyway passes false.
   */
  async stop(options: { unsubscribe?: boolean; drainMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const u of this.unroute) u();
    const c = this.options.client;
    const unsubscribed = options.unsubscribe === false ? undefined : Promise.allSettled([...this.rxFilters, ...this.metaFilters].map((f) => c.unsubscribe(f)));
    for (const rt of this.runtimes.values()) rt.decoder.cancelQueued();
    let timer: NodeJS.Timeout | undefined;
    const drained = Promise.allSettled([...this.inFlight]);
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.drainMs ?? 2000)))]);
    clearTimeout(timer);
    for (const s of this.book.all()) await this.finish(s, 'stopped');
    await Promise.all([...this.runtimes.values()].map((r) => r.decoder.close()));
    await unsubscribed;
  }

  private onMeta(m: AkbMessage): void {
    this.counters.metasReceived++;
    let device: string;
    let meta: ImageMetaMessage;
    try {
      device = parseDeviceTopic(m.topic).device;
    } catch (e) {
      this.counters.metasMalformed++;
      return this.report(e, { what: 'image-meta', topic: m.topic });
    }
    if (!this.scope.has(device)) {
      this.counters.outOfScope.metas++;
      return;
    }
    try {
      meta = decodeMessage('image-meta', m.payload);
    } catch (e) {
      this.counters.metasMalformed++;
      return this.report(e, { what: 'image-meta', topic: m.topic });
    }
    const key = `${device}/${meta.session}/${meta.image}`;
    if (!this.seenMetas.add(key)) {
      this.counters.metasDuplicate++;
      return;
    }
    const rt = this.runtimes.get(meta.modelSet);
    if (rt === undefined || meta.tile !== rt.decoder.tile) {
      this.counters.unknownModelSet += rt === undefined ? 1 : 0;
      this.counters.metasMalformed += rt === undefined ? 0 : 1;
      return this.report(new AkbError('UNKNOWN_MODEL_SET', `image ${key}: model set ${meta.modelSet} (tile ${meta.tile}) is not loaded here`), { device });
    }
    const admitted = this.book.add(key, device, meta);
    if (admitted.refused !== undefined) return this.refuse(device, meta, admitted.refused);
    this.counters.imagesEvicted += admitted.evicted.length;
    for (const s of admitted.evicted) void this.track(this.finish(s, 'evicted'));
    this.adopt(device, meta.session);
  }

  /** Counts a refused meta; logs it unless this device's refusals were logged less than REFUSAL_LOG_MS ago. */
  private refuse(device: string, meta: ImageMetaMessage, reason: MetaRefusal): void {
    this.counters.metasRefused++;
    this.counters.metasRefusedByReason[reason] = (this.counters.metasRefusedByReason[reason] ?? 0) + 1;
    const now = this.now();
    const last = this.refusalLogged.get(device);
    if (last !== undefined && now - last < REFUSAL_LOG_MS) return;
    this.refusalLogged.delete(device);
    this.refusalLogged.set(device, now);
    if (this.refusalLogged.size > MAX_DEVICES) this.refusalLogged.delete(this.refusalLogged.keys().next().value!);
    const l = this.book.limits;
    this.report(
      new AkbError('META_REFUSED', `image-meta of ${device} refused (${reason}): ${meta.width}x${meta.height} pixels, ${meta.tiles} tiles`, {
        hint: `limits: ${l.maxSide} px a side, ${l.maxPixels} px, ${l.maxTiles} tiles; per device ${l.maxOpenImagesPerDevice} open images and ${l.maxOpenBytesPerDevice} bytes, ${l.maxOpenBytes} bytes in all (akb-cloud --max-image-side, --max-image-pixels, --max-tiles, --max-open-images, --max-open-mb, --max-total-open-mb)`,
      }),
      { what: 'image-meta', device, reason, refused: this.counters.metasRefusedByReason[reason] },
    );
  }

  private onFrame(m: AkbMessage): void {
    this.counters.fragmentsReceived++;
    let device: string;
    try {
      device = parseDeviceTopic(m.topic).device;
    } catch (e) {
      return countMalformed(this.counters, isAkbError(e) ? e.code : 'BAD_TOPIC');
    }
    if (!this.scope.has(device)) {
      this.counters.outOfScope.frames++;
      return;
    }
    let r = this.reassemblers.get(device);
    if (r === undefined) {
      r = new Reassembler({ timeoutMs: this.options.fragmentTimeoutMs ?? 300, maxPendingFrames: 256, maxTotalSymbols: this.maxSymbols, rememberDelivered: 4096, now: this.now });
      this.reassemblers.set(device, r);
      if (this.reassemblers.size > MAX_DEVICES) this.dropDevice();
    }
    try {
      const frame = r.push(m.payload);
      if (frame !== undefined) this.accept(device, frame);
    } catch (e) {
      countMalformed(this.counters, isAkbError(e) ? e.code : 'INTERNAL');
    }
  }

  /** A whole frame (or one given up on): dedupe, find its image, decode. */
  private accept(device: string, frame: ReassembledFrame): void {
    const h = frame.header;
    if (this.decoded.has(`${device}/${h.sessionId}/${h.frameId}`)) {
      this.counters.framesDuplicate++;
      return;
    }
    const located = this.book.locate(device, h.sessionId, h.frameId);
    if (located === undefined && !this.stopped) return this.hold(device, frame);
    this.process(device, frame, located);
  }

  private process(device: string, frame: ReassembledFrame, located: { state: ImageState; index: number } | undefined): void {
    const h = frame.header;
    if (!this.decoded.add(`${device}/${h.sessionId}/${h.frameId}`)) {
      this.counters.framesDuplicate++;
      return;
    }
    // Without its meta a frame can only be decoded when one set is loaded (feedback, no image).
    const rt = located ? this.runtimes.get(located.state.meta.modelSet) : this.runtimes.size === 1 ? [...this.runtimes.values()][0] : undefined;
    if (located === undefined) this.counters.framesWithoutMeta++;
    if (rt === undefined) return;
    if (located) located.state.inFlight++;
    void this.track(
      decodeTile(this.ctx, rt, device, frame, located).finally(() => {
        if (!located) return;
        located.state.inFlight--;
        if (located.state.handled === located.state.meta.tiles) void this.track(this.finish(located.state, 'complete'));
      }),
    );
  }

  /** Frames that came before their meta wait for it (or for metaWaitMs). */
  private hold(device: string, frame: ReassembledFrame): void {
    for (const o of this.orphans.hold(device, frame, this.now())) this.process(o.device, o.frame, undefined);
  }

  /** Decodes the waiting frames a new meta explains. */
  private adopt(device: string, session: number): void {
    const locate = (o: { frame: ReassembledFrame }): { state: ImageState; index: number } | undefined => this.book.locate(device, session, o.frame.header.frameId);
    for (const o of this.orphans.claim(device, session, (x) => locate(x) !== undefined)) this.process(device, o.frame, locate(o));
  }

  private tick(): void {
    for (const [device, r] of this.reassemblers) for (const f of r.expire()) this.accept(device, f);
    const cutoff = this.now() - (this.options.metaWaitMs ?? 2000);
    for (const o of this.orphans.take((x) => x.at <= cutoff)) this.process(o.device, o.frame, undefined);
    for (const s of this.book.overdue(this.now())) void this.track(this.finish(s, 'timeout'));
  }

  /**
   * Finishes an image. Tiles never received are decoded from the prior when the image timed out after
   * some of its frames arrived; an evicted or stopped image, or one of which nothing arrived, has them
   * counted lost, not decoded (and not listed: the work a meta causes stays small, however many tiles it
   * announces). With a shared subscription they count as `elsewhere` (other workers have them).
   */
  private async finish(state: ImageState, reason: FinishReason): Promise<void> {
    if (state.finishing) return;
    state.finishing = true;
    state.closing = true;
    const rt = this.runtimes.get(state.meta.modelSet)!;
    const shared = this.options.shared === true;
    if (!shared && (reason === 'timeout' || reason === 'complete') && state.received > 0) {
      const missing: number[] = [];
      for (let i = 0; i < state.tiles.length; i++) if (state.tiles[i] === undefined) missing.push(i);
      for (const i of missing) this.decoded.add(`${state.device}/${state.meta.session}/${(state.meta.firstFrameId + i) >>> 0}`);
      await lostTiles(this.ctx, rt, state, missing);
    } else if (!shared) {
      this.counters.tilesLost += state.meta.tiles - state.handled;
    }
    const result = await this.book.finish(state, reason, shared ? 'elsewhere' : 'lost');
    if (reason === 'complete') this.counters.imagesCompleted++;
    else if (reason === 'timeout') this.counters.imagesTimedOut++;
    this.images.emit(result);
  }

  private track(p: Promise<void>): Promise<void> {
    const tracked = p.catch((e: unknown) => this.report(e, { what: 'decode' }));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return tracked;
  }

  private dropDevice(): void {
    const [device, r] = this.reassemblers.entries().next().value!;
    this.reassemblers.delete(device);
    this.counters.fragmentsDuplicate += r.stats.late + r.stats.duplicates;
    for (const f of r.flush()) this.accept(device, f);
  }

  private report(error: unknown, context: object): void {
    try {
      this.options.onError?.(error, context);
    } catch {
      // a failing logger must not stop the decoder
    }
  }
}
