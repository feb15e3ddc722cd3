/**
 * Writes the golden frame vectors to protocol/vectors/frames: NN-name.bin (the frame bytes) and
 * NN-name.json (the decoded header and values, or the error code a decoder must report). Everything is
 * fixed (no randomness, fixed timestamps), so running it again gives byte-identical files; a test checks
 * that the files on disk match what this script builds.
 *
 *   npx tsx protocol/scripts/generate-frame-vectors.ts
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  crc32c,
  decodeFrame,
  encodeFrame,
  fragmentSymbols,
  packSymbols,
  unpackSymbols,
  type FrameHeaderInit,
  type SymbolDtype,
} from '../src/frame/index.js';

export interface FrameVector {
  /** File stem, e.g. "01-float32". */
  readonly name: string;
  readonly bin: Uint8Array;
  /** The JSON file's content, already formatted. */
  readonly json: string;
}

/** 2026-01-01T00:00:00Z in microseconds. */
const TIMESTAMP_US = 1_767_225_600_000_000;

const BASE: Omit<FrameHeaderInit, 'dtype' | 'scale' | 'totalSymbols'> = {
  hasKbEntry: false,
  endOfSession: false,
  actionId: 3,
  deviceId: 0x0000a1b2,
  sessionId: 0x5e55_1011,
  frameId: 7,
  fragmentIndex: 0,
  fragmentCount: 1,
  kbVersion: 12,
  kbEntry: 0,
  symbolOffset: 0,
  timestampUs: TIMESTAMP_US,
};

/** JSON has no NaN or Inf: they are written as the strings "NaN", "Infinity", "-Infinity". */
export function valueToJson(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function frame(values: number[], dtype: SymbolDtype, extra: Partial<FrameHeaderInit> = {}): Uint8Array {
  const { payload, scale } = packSymbols(new Float32Array(values), dtype);
  return encodeFrame({ ...BASE, dtype, scale, totalSymbols: values.length / 2, ...extra }, payload);
}

/** Rewrites header fields (little-endian) and, unless told not to, recomputes the CRC so field checks are reached. */
function patch(bytes: Uint8Array, edits: [offset: number, size: 1 | 2 | 4, value: number][], fixCrc = true): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  for (const [offset, size, value] of edits) {
    if (size === 1) view.setUint8(offset, value);
    else if (size === 2) view.setUint16(offset, value, true);
    else view.setUint32(offset, value, true);
  }
  if (fixCrc) view.setUint32(out.length - 4, crc32c(out.subarray(0, out.length - 4)), true);
  return out;
}

function valid(name: string, description: string, bin: Uint8Array): FrameVector {
  const { header, payload } = decodeFrame(bin);
  const values = Array.from(unpackSymbols(payload, header.dtype, header.scale), valueToJson);
  const crc = new DataView(bin.buffer, bin.byteOffset).getUint32(bin.length - 4, true);
  const json = { description, valid: true, header, values, crc32c: `0x${crc.toString(16).padStart(8, '0')}` };
  return { name, bin, json: `${JSON.stringify(json, null, 2)}\n` };
}

function invalid(name: string, description: string, bin: Uint8Array, error: string): FrameVector {
  return { name, bin, json: `${JSON.stringify({ description, valid: false, error }, null, 2)}\n` };
}

/** Every vector, in file order. */
export function buildFrameVectors(): FrameVector[] {
  const f32 = frame([1, -1, 0.5, -0.25, 3.140625, -2.71875, 0, 0.001], 'float32');
  const fragments = fragmentSymbols(
    { ...BASE, frameId: 8, kbEntry: 42, endOfSession: true },
    new Float32Array([0.5, -0.5, 1, -1, 0.25, 0.75, -0.125, 2, 3, -3, 0.1, 0.2, 0.3, 0.4, -1.5, 1.5, 4, -4, 0.01, -0.01]),
    { mtu: 76, dtype: 'float16' },
  );
  const shortPayload = frame([1, -1, 0.5, -0.25], 'float32').subarray(0, 56 + 12 + 4);
  const vectors: [string, string, Uint8Array, string?][] = [
    ['float32', 'one fragment of 4 float32 symbols', f32],
    [
      'float16',
      'float16 rounding: 0.1 and -0.333 round to nearest even, 70000 overflows to Inf, 1e-7 is subnormal, 2.5e-8 rounds to 0, Inf and NaN are kept',
      frame([0.1, -0.333, 65504, 70000, 1e-7, 2.5e-8, Infinity, NaN], 'float16'),
    ],
    [
      'int8',
      'int8 with scale 15.875/127 = 0.125: 0.0625/0.125 = 0.5 rounds to 0, 1.5 to 2, -2.5 to -2, -56.5 to -56 (half to even)',
      frame([15.875, -15.875, 0.0625, 0.1875, -0.3125, 1, 0, -7.0625], 'int8'),
    ],
    ['fragment-kb-entry-end-of-session', 'fragment 1 of 3 (symbols 4..7 of 10), KB entry 42, end of session', fragments[1]!],
    ['header-length-64', 'a 64-byte header: a v1 receiver skips the 8 unknown bytes', frame([0.5, -0.5, 2, -2], 'float32', { headerLength: 64 })],
    ['empty-end-of-session', 'a frame of no symbols that only ends the session', frame([], 'float32', { endOfSession: true, frameId: 9 })],
    ['bad-magic', 'first byte is "B"', patch(f32, [[0, 1, 0x42]]), 'BAD_MAGIC'],
    ['unsupported-version', 'version byte is 2', patch(f32, [[2, 1, 2]]), 'UNSUPPORTED_VERSION'],
    ['bad-crc', 'one payload bit flipped after the CRC was computed', patch(f32, [[60, 1, f32[60]! ^ 0x01]], false), 'CRC_MISMATCH'],
    ['truncated', 'the last 10 bytes are missing', f32.slice(0, f32.length - 10), 'TRUNCATED'],
    ['truncated-header', 'only 30 bytes of the header', f32.slice(0, 30), 'TRUNCATED'],
    ['bad-dtype', 'dtype code 3, with a valid CRC', patch(f32, [[5, 1, 3]]), 'BAD_DTYPE'],
    ['payload-not-whole-symbols', 'float32 payload of 12 bytes (1.5 symbols), with a valid CRC', patch(shortPayload, [[44, 4, 12], [32, 4, 2]]), 'BAD_LENGTH'],
    ['trailing-bytes', 'three bytes after the CRC', Uint8Array.from([...f32, 0, 0, 0]), 'BAD_LENGTH'],
    ['payload-length-exceeds-buffer', 'payload length field says 8 bytes more than present', patch(f32, [[44, 4, 40]]), 'TRUNCATED'],
    ['header-length-too-small', 'header length byte is 40', patch(f32, [[4, 1, 40]]), 'BAD_HEADER'],
    ['fragment-index-out-of-range', 'fragment index 1 of count 1, with a valid CRC', patch(f32, [[20, 2, 1]]), 'BAD_FRAGMENT'],
    ['symbols-past-total', 'symbol offset 1 with 4 symbols of a 4-symbol frame, with a valid CRC', patch(f32, [[36, 4, 1]]), 'BAD_FRAGMENT'],
    ['int8-zero-scale', 'int8 frame with scale 0, with a valid CRC', patch(frame([1, -1], 'int8'), [[40, 4, 0]]), 'BAD_HEADER'],
    ['float-scale-not-one', 'float32 frame with scale 2.0, with a valid CRC', patch(f32, [[40, 4, 0x40000000]]), 'BAD_HEADER'],
    ['too-many-symbols', 'total symbols 2^24 + 1, with a valid CRC', patch(f32, [[32, 4, 2 ** 24 + 1]]), 'TOO_LARGE'],
    ['payload-too-large', 'payload length field 2^24 + 8 (checked before the buffer length)', patch(f32, [[44, 4, 2 ** 24 + 8]]), 'TOO_LARGE'],
    [
      'rx-snr',
      'protocol 1.3: flag bit 2 (extensions) and a 64-byte header holding the RX_SNR extension (type 1, length 4, f32 7.25 dB) and two padding bytes; a 1.2 receiver skips them',
      frame([0.5, -0.5, 2, -2], 'float32', { rxSnrDb: 7.25 }),
    ],
  ];
  return vectors.map(([stem, description, bin, error], i) => {
    const name = `${String(i + 1).padStart(2, '0')}-${stem}`;
    return error === undefined ? valid(name, description, bin) : invalid(name, description, bin, error);
  });
}

export const FRAME_VECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'frames');

function main(): void {
  mkdirSync(FRAME_VECTOR_DIR, { recursive: true });
  for (const file of readdirSync(FRAME_VECTOR_DIR)) {
    if (/^\d\d-.*\.(bin|json)$/.test(file)) rmSync(join(FRAME_VECTOR_DIR, file));
  }
  const vectors = buildFrameVectors();
  for (const v of vectors) {
    writeFileSync(join(FRAME_VECTOR_DIR, `${v.name}.bin`), v.bin);
    writeFileSync(join(FRAME_VECTOR_DIR, `${v.name}.json`), v.json);
  }
  console.log(`wrote ${vectors.length} frame vectors to ${FRAME_VECTOR_DIR}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
