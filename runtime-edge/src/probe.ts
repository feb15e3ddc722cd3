/**
 * `akb-edge --probe`: the install agent's health check of a freshly switched slot. It does what the
 * daemon must be able to do, once: load the profile and the models, connect to the broker (the birth, with
 * the slot's bundle version and slot, is the only thing it publishes besides the clean death on exit),
 * encode the probe image (AKB_SLOT_DIR/probe/probe.png, or `--probe <png>`) with the set's first action
 * at 10 dB, and print one JSON line `{ok, backend, encodeMs, symbols, tiles, set, bundle, slot}`.
 * Any failure is thrown, so akb-edge prints one line and exits non-zero.
 *
 * The probe image is a file of the slot, so it is bounded like hostile input: at most 4 MiB, a PNG whose
 * header says at most 4 Mpixel (checked before decoding; a bundle's probe image is a small photograph).
 */
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { BackendRegistry, type BackendName, decodeImage, extractTile, loadModelSet, tileCount, tileGrid } from '@akb/jscc';
import { EdgeAgent, type EdgeAgentOptions } from './agent.js';
import type { EdgeProfileReport } from './profile.js';
import { readBounded } from './install/slot-info.js';

export const MAX_PROBE_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_PROBE_PIXELS = 4 * 1024 * 1024;
const PROBE_SNR_DB = 10;

export interface ProbeOptions {
  /** The agent options the daemon would start with (broker, device, profile, installed slot). */
  base: EdgeAgentOptions;
  profile: EdgeProfileReport;
  models: string;
  set: string;
  /** `--probe <png>`; empty or undefined: AKB_SLOT_DIR/probe/probe.png. */
  image: string | undefined;
  slotDir: string | undefined;
  /** The registry to load from (akb-edge: edgeBackends with the profile's threads). */
  backends: BackendRegistry;
}

export interface ProbeResult {
  ok: true;
  backend: BackendName;
  encodeMs: number;
  symbols: number;
  tiles: number;
  set: string;
  bundle: string | null;
  slot: 'A' | 'B' | null;
}

function probeImagePath(o: ProbeOptions): string {
  if (o.image) return o.image;
  if (o.slotDir) return join(o.slotDir, 'probe', 'probe.png');
  throw new AkbError('BAD_OPTION', 'no probe image: pass --probe <png>, or run from a slot (AKB_SLOT_DIR/probe/probe.png)', { exitCode: 2 });
}

/** The probe image's bytes, refused before decoding when too large or not a PNG of at most MAX_PROBE_PIXELS. */
async function readProbeImage(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(path, MAX_PROBE_FILE_BYTES);
  } catch (e) {
    throw new AkbError('PROBE_IMAGE', `probe image: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { hint: `a PNG of at most ${MAX_PROBE_FILE_BYTES} bytes` });
  }
  const png = bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR';
  if (!png) throw new AkbError('PROBE_IMAGE', `probe image ${path} is not a PNG`, { hint: 'the probe image is probe/probe.png of the slot' });
  const pixels = bytes.readUInt32BE(16) * bytes.readUInt32BE(20);
  if (pixels > MAX_PROBE_PIXELS) throw new AkbError('PROBE_IMAGE', `probe image ${path} has ${pixels} pixels, more than ${MAX_PROBE_PIXELS}`);
  return bytes;
}

/** Registers every backend of `inner` behind a wrapper that remembers which one made the last session. */
function recording(inner: BackendRegistry): { registry: BackendRegistry; used: () => BackendName | undefined } {
  let used: BackendName | undefined;
  const registry = new BackendRegistry();
  for (const name of inner.names) {
    registry.register({
      name,
      createSession: async (model) => {
        const session = await inner.createSession(model, [name]);
        used = session.backend;
        return session;
      },
    });
  }
  return { registry, used: () => used };
}

/** Runs the probe; resolves with what it printed. */
export async function runProbe(o: ProbeOptions): Promise<ProbeResult> {
  const bytes = await readProbeImage(probeImagePath(o));
  const [{ TileEncoder }, { modelVersions }] = await Promise.all([import('./encode/encoder.js'), import('./pipeline/runtime.js')]);
  const set = await loadModelSet(o.models, o.set);
  const { registry, used } = recording(o.backends);
  const encoder = await TileEncoder.create(set, { backends: registry, backendOrder: o.profile.limits.backends, maxBatch: o.profile.limits.maxBatch });
  const image = await decodeImage(bytes, 'probe image');
  // Its own client id: a runtime still running from the other slot keeps its connection.
  const agent = await EdgeAgent.start({ ...o.base, clientId: `${o.base.deviceId}-probe`, models: modelVersions(set), kb: set.kb?.versionId ?? null, capabilities: ['jscc', 'probe'] });
  try {
    const grid = tileGrid(image.width, image.height, encoder.tile);
    const count = tileCount(grid);
    const size = 3 * encoder.tile * encoder.tile;
    const tiles = new Float32Array(count * size);
    for (let i = 0; i < count; i++) extractTile(image, grid, i, tiles.subarray(i * size, (i + 1) * size));
    const t0 = performance.now();
    const out = await encoder.encode({ tiles, count, actions: new Uint8Array(count), snrEstimateDb: PROBE_SNR_DB });
    const encodeMs = performance.now() - t0;
    let symbols = 0;
    for (let i = 0; i < count; i++) symbols += out.lengths[i]!;
    const installed = o.base.installed;
    const result: ProbeResult = {
      ok: true,
      backend: used() ?? o.profile.limits.backends[0]!,
      encodeMs: Math.round(encodeMs * 10) / 10,
      symbols,
      tiles: count,
      set: set.name,
      bundle: installed?.version ?? null,
      slot: installed?.slot ?? null,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result;
  } finally {
    await agent.stop();
  }
}
