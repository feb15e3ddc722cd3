/**
 * What tests and benchmarks need to play the edge and the channel against the cloud decoder: the fixture
 * images, the real encoder (inputs by card names), AWGN, and RX frames in the v1 link convention (one
 * frame per tile; action id, KB version and entry in the header; payload = the first `length` latent
 * symbols times 10^(powerDb/20), plus noise). Not part of the service; imported by path.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c, fragmentSymbols, type FrameMeta, type ImageMetaMessage } from '@akb/protocol';
import { BackendRegistry, extractTile, ortNodeBackend, placeTile, tileGrid, type InferenceSession, type ModelSet, type RateAction, type RgbImage, type Tensor } from '@akb/jscc';

export interface FixtureImages {
  /** 16 CIFAR-10 test images, 3 x 32 x 32 planar RGB each. */
  readonly images: Float32Array[];
  /** The KB entry the embedder picked for each (fixtures.json, akb-jscc-k256-awgn1). */
  readonly entries: number[];
}

export async function loadFixtureImages(dir = 'models/fixtures'): Promise<FixtureImages> {
  const bytes = await readFile(join(dir, 'images.f32'));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const images = Array.from({ length: all.length / 3072 }, (_, i) => all.slice(i * 3072, (i + 1) * 3072));
  const json = JSON.parse(await readFile(join(dir, 'fixtures.json'), 'utf8')) as { fixtures: { name: string; entry?: number[] }[] };
  const entries = json.fixtures.find((f) => f.entry !== undefined)?.entry ?? [];
  return { images, entries };
}

/** Runs a model of a set (the encoder by default) on the main thread, inputs by card names. */
export class SetSessions {
  private constructor(readonly set: ModelSet, readonly encoder: InferenceSession, readonly decoder: InferenceSession) {}

  static async create(set: ModelSet): Promise<SetSessions> {
    const registry = new BackendRegistry().register(ortNodeBackend('onnxruntime-node-cpu', { intraOpThreads: 1 }));
    const order = ['onnxruntime-node-cpu'] as const;
    const [enc, dec] = await Promise.all([registry.createSession(set.encoder.bytes, order), registry.createSession(set.decoder.bytes, order)]);
    return new SetSessions(set, enc, dec);
  }

  /** Encoder latents (full width) of `tiles`; priors, snr and length fed where the card has them. */
  async encode(tiles: readonly Float32Array[], priors: readonly Float32Array[] | undefined, snrDb: number, length: number): Promise<Float32Array[]> {
    const card = this.set.encoder.card;
    const width = card.outputs[0]!.shape[1] as number;
    const out = await this.encoder.run(feeds(card.inputs.map((i) => i.name), tiles, priors, snrDb, length, 'image'));
    const data = out[card.outputs[0]!.name]!.data;
    return tiles.map((_, i) => data.slice(i * width, (i + 1) * width));
  }

  /** The decoder on received latents (divided by the amplitude, 2 x length values each). */
  async decode(latents: readonly Float32Array[], priors: readonly Float32Array[] | undefined, snrDb: number, length: number): Promise<Float32Array[]> {
    const card = this.set.decoder.card;
    const width = card.inputs.find((i) => i.name === 'latent')!.shape[1] as number;
    const padded = latents.map((l) => {
      const p = new Float32Array(width);
      p.set(l);
      return p;
    });
    const out = await this.decoder.run(feeds(card.inputs.map((i) => i.name), padded, priors, snrDb, length, 'latent'));
    const data = out[card.outputs[0]!.name]!.data;
    return latents.map((_, i) => data.slice(i * 3072, (i + 1) * 3072));
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}

function feeds(names: readonly string[], main: readonly Float32Array[], priors: readonly Float32Array[] | undefined, snrDb: number, length: number, mainName: string): Record<string, Tensor> {
  const n = main.length;
  const stack = (rows: readonly Float32Array[]): Float32Array => {
    const out = new Float32Array(n * rows[0]!.length);
    rows.forEach((r, i) => out.set(r, i * r.length));
    return out;
  };
  const f: Record<string, Tensor> = {};
  for (const name of names) {
    if (name === mainName) f[name] = { data: stack(main), dims: mainName === 'image' ? [n, 3, 32, 32] : [n, main[0]!.length] };
    else if (name === 'prior') f[name] = { data: stack(priors!), dims: [n, 3, 32, 32] };
    else if (name === 'snr_db') f[name] = { data: new Float32Array(n).fill(snrDb), dims: [n, 1] };
    else if (name === 'length') f[name] = { data: new Float32Array(n).fill(length), dims: [n, 1] };
  }
  return f;
}

/** A seeded standard normal generator (mulberry32 + Box-Muller). */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * The channel: the first `length` symbols of `latent` scaled by 10^(powerDb/20), plus complex AWGN of
 * variance 10^(−snrDb/10) (the channel SNR for unit power). Returns what the receiver gets.
 */
export function awgnChannel(latent: Float32Array, length: number, powerDb: number, snrDb: number, normal: () => number): Float32Array {
  const amplitude = 10 ** (powerDb / 20);
  const std = Math.sqrt(10 ** (-snrDb / 10) / 2);
  const out = new Float32Array(2 * length);
  for (let i = 0; i < out.length; i++) out[i] = latent[i]! * amplitude + std * normal();
  return out;
}

/** RX frame fragments of one tile: float32, one fragment unless `mtu` splits it. */
export function rxFragments(meta: FrameMeta, received: Float32Array, mtu = 1 << 20): Uint8Array[] {
  return fragmentSymbols(meta, received, { mtu, dtype: 'float32' });
}

export interface SentTile {
  readonly frameId: number;
  readonly action: RateAction;
  readonly length: number;
  /** KB entry in the header, or undefined (global mean; none for sets without a KB). */
  readonly entry: number | undefined;
  readonly fragments: Uint8Array[];
  /** What the receiver got, divided by the amplitude: 2 x length values (for a direct decode). */
  readonly received: Float32Array;
}

export interface SentImage {
  readonly meta: ImageMetaMessage;
  readonly original: RgbImage;
  readonly tiles: SentTile[];
}

export interface ImageScenario {
  width: number;
  height: number;
  session: number;
  image: number;
  firstFrameId: number;
  name?: string;
  snrDb: number;
  actionId: number;
  /** The KB version frames name (default: the set's KB's). */
  kbVersion?: number;
  /** Send each tile's KB entry (default true for AKB sets). */
  withEntry?: boolean;
  seed: number;
  mtu?: number;
  deviceId?: number;
  /** The image to send (width x height must match); default: fixture tiles (composeImage). */
  original?: RgbImage;
}

/** An image of fixture tiles (tile i = fixture i mod 16), cropped to width x height. */
export function composeImage(fx: FixtureImages, width: number, height: number): RgbImage {
  const grid = tileGrid(width, height, 32);
  const big = { width: grid.cols * 32, height: grid.rows * 32, data: new Float32Array(3 * grid.cols * 32 * grid.rows * 32) };
  const bigGrid = tileGrid(big.width, big.height, 32);
  for (let i = 0; i < grid.cols * grid.rows; i++) placeTile(big, bigGrid, i, fx.images[i % fx.images.length]!);
  const out = { width, height, data: new Float32Array(3 * width * height) };
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const src = c * big.width * big.height + y * big.width;
      out.data.set(big.data.subarray(src, src + width), c * width * height + y * width);
    }
  }
  return out;
}

/** Plays edge and channel: encodes every tile with the real encoder, adds AWGN, makes RX fragments. */
export async function sendImage(sessions: SetSessions, fx: FixtureImages, o: ImageScenario): Promise<SentImage> {
  const set = sessions.set;
  const action = set.actions.find((a) => a.id === o.actionId)!;
  const kb = set.kb;
  if (o.original !== undefined && (o.original.width !== o.width || o.original.height !== o.height)) {
    throw new Error(`sendImage: the original is ${o.original.width}x${o.original.height}, the scenario ${o.width}x${o.height}`);
  }
  const original = o.original ?? composeImage(fx, o.width, o.height);
  const grid = tileGrid(o.width, o.height, 32);
  const count = grid.cols * grid.rows;
  const index = kb ? kb.indexUses(o.snrDb) : -1;
  const withEntry = kb !== undefined && (o.withEntry ?? true) && index > 0;
  const length = kb ? action.channelUses - (withEntry ? index : 0) : set.maxSymbols;
  const tiles = Array.from({ length: count }, (_, i) => extractTile(original, grid, i));
  const entries = tiles.map((_, i) => (withEntry ? fx.entries[i % fx.entries.length]! : -1));
  const priors = kb ? entries.map((e) => kb.prior(e)) : undefined;
  const latents = await sessions.encode(tiles, priors, o.snrDb, length);
  const normal = gaussian(o.seed);
  const amplitude = 10 ** (action.powerDb / 20);
  const sent = latents.map((latent, i): SentTile => {
    const frameId = (o.firstFrameId + i) >>> 0;
    const rx = awgnChannel(latent, length, action.powerDb, o.snrDb, normal);
    const frameMeta: FrameMeta = {
      deviceId: o.deviceId ?? 7,
      sessionId: o.session,
      frameId,
      actionId: action.id,
      kbVersion: o.kbVersion ?? kb?.versionId ?? 0,
      kbEntry: withEntry ? entries[i] : undefined,
      timestampUs: Date.now() * 1000,
    };
    return { frameId, action, length, entry: withEntry ? entries[i] : undefined, fragments: rxFragments(frameMeta, rx, o.mtu), received: rx.map((v) => v / amplitude) };
  });
  const meta: ImageMetaMessage = {
    v: 1,
    session: o.session,
    image: o.image,
    ...(o.name === undefined ? {} : { name: o.name }),
    width: o.width,
    height: o.height,
    tile: 32,
    tiles: count,
    firstFrameId: o.firstFrameId,
    modelSet: set.name,
    kbVersion: o.kbVersion ?? kb?.versionId ?? 0,
    ts: Date.now(),
  };
  return { meta, original, tiles: sent };
}

/** The reconstruction a direct decode (no cloud) gives: the same received latents, the true SNR. */
export async function decodeDirectly(sessions: SetSessions, sent: SentImage, snrDb: number): Promise<RgbImage> {
  const kb = sessions.set.kb;
  const grid = tileGrid(sent.meta.width, sent.meta.height, 32);
  const out = { width: sent.meta.width, height: sent.meta.height, data: new Float32Array(3 * sent.meta.width * sent.meta.height) };
  for (const [i, t] of sent.tiles.entries()) {
    const priors = kb ? [kb.prior(t.entry ?? -1)] : undefined;
    const [pixels] = await sessions.decode([t.received], priors, snrDb, t.length);
    placeTile(out, grid, i, pixels!);
  }
  return out;
}

/** A copy of an encoded frame with another session (header offset 12) or frame id (16), CRC-32C redone. */
export function retagFrame(frame: Uint8Array, field: 'session' | 'frameId', value: number): Uint8Array {
  const out = Uint8Array.from(frame);
  const view = new DataView(out.buffer);
  view.setUint32(field === 'session' ? 12 : 16, value, true);
  view.setUint32(out.length - 4, crc32c(out.subarray(0, out.length - 4)), true);
  return out;
}
