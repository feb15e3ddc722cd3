import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { FRAME_VECTOR_DIR, buildFrameVectors, valueToJson } from '../../scripts/generate-frame-vectors.js';
import { decodeFrame, encodeFrame, unpackSymbols } from './index.js';

type VectorJson =
  | { description: string; valid: true; header: Record<string, unknown>; values: (number | string)[]; crc32c: string }
  | { description: string; valid: false; error: string };

const stems = readdirSync(FRAME_VECTOR_DIR)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => f.slice(0, -4))
  .sort();

function load(stem: string): { bin: Uint8Array; json: VectorJson } {
  const bin = new Uint8Array(readFileSync(join(FRAME_VECTOR_DIR, `${stem}.bin`)));
  const json = JSON.parse(readFileSync(join(FRAME_VECTOR_DIR, `${stem}.json`), 'utf8')) as VectorJson;
  return { bin, json };
}

describe('golden frame vectors', () => {
  it('cover the required cases', () => {
    expect(stems.length).toBeGreaterThanOrEqual(20);
    const errors = stems.map((s) => load(s).json).flatMap((j) => (j.valid ? [] : [j.error]));
    for (const code of ['BAD_MAGIC', 'UNSUPPORTED_VERSION', 'CRC_MISMATCH', 'TRUNCATED', 'BAD_DTYPE', 'BAD_LENGTH']) {
      expect(errors).toContain(code);
    }
  });

  it.each(stems)('%s decodes as its .json says', (stem) => {
    const { bin, json } = load(stem);
    if (!json.valid) {
      let thrown: unknown;
      try {
        decodeFrame(bin);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ProtocolError);
      expect((thrown as ProtocolError).code).toBe(json.error);
      return;
    }
    const { header, payload } = decodeFrame(bin);
    expect(header).toEqual(json.header);
    expect(Array.from(unpackSymbols(payload, header.dtype, header.scale), valueToJson)).toEqual(json.values);
    expect(json.crc32c).toBe(`0x${new DataView(bin.buffer).getUint32(bin.length - 4, true).toString(16).padStart(8, '0')}`);
    // Re-encoding the decoded header and payload gives the same bytes.
    expect(encodeFrame(header, payload)).toEqual(bin);
  });

  it('match what the generator builds (regeneration is byte-identical)', () => {
    const built = buildFrameVectors();
    expect(built.map((v) => v.name)).toEqual(stems);
    for (const v of built) {
      expect(readFileSync(join(FRAME_VECTOR_DIR, `${v.name}.bin`))).toEqual(Buffer.from(v.bin));
      expect(readFileSync(join(FRAME_VECTOR_DIR, `${v.name}.json`), 'utf8')).toBe(v.json);
    }
  });
});
