/**
 * Serial flashing's wire format: COBS round trips, the golden vectors (encode gives their bytes, decode
 * gives their frames, bad blocks give their codes), and hostile blocks thrown at the decoder and the
 * deframer by fast-check (random bytes, flipped bits, oversized blocks): only ProtocolError comes out.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { crc32c } from '../frame/crc32c.js';
import { cobsDecode, cobsEncode } from './cobs.js';
import { SerialDeframer } from './deframer.js';
import { decodeSerialBody, decodeSerialFrame, encodeSerialBody, encodeSerialFrame, MAX_SERIAL_BLOCK, MAX_SERIAL_BUNDLE, type SerialFrame } from './frames.js';
import { frameToJson, vectorFrames, type SerialVector } from './vectors.js';

const VECTORS = fileURLToPath(new URL('../../vectors/serial/vectors.json', import.meta.url));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function badVectors(): SerialVector[] {
  const good = encodeSerialFrame({ type: 'NAK', offset: 1024 });
  const flipped = good.slice();
  flipped[3] = flipped[3]! ^ 0x01;
  return [
    { name: 'bad-crc', wire: hex(flipped), error: 'CRC_MISMATCH' },
    { name: 'unknown-type', wire: hex(withCrc([1, 99])), error: 'BAD_HEADER' },
    { name: 'version-2', wire: hex(withCrc([2, 5, 0, 0, 0, 0, 0, 0, 0, 0])), error: 'UNSUPPORTED_VERSION' },
    { name: 'data-offset-past-limit', wire: hex(withCrc([1, 3, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9])), error: 'TOO_LARGE' },
    { name: 'hello-size-over-limit', wire: hex(withCrc([1, 1, 1, 0, 0, 0x40, 0, 0, 0, 0, ...new Array<number>(32).fill(0), 0, 4, 8, 0, 0])), error: 'TOO_LARGE' },
    { name: 'truncated-ack', wire: hex(withCrc([1, 4, 7, 0, 0])), error: 'TRUNCATED' },
  ];
}

/** A body of `fields` with its CRC, COBS-encoded with the delimiter. */
function withCrc(fields: number[]): Uint8Array {
  const body = new Uint8Array(fields.length + 4);
  body.set(fields);
  return wireOf(body, fields.length);
}

function wireOf(body: Uint8Array, n: number): Uint8Array {
  new DataView(body.buffer, body.byteOffset).setUint32(n, crc32c(body.subarray(0, n)), true);
  const block = cobsEncode(body);
  return Uint8Array.from([...block, 0]);
}

function expected(): SerialVector[] {
  return [...vectorFrames().map(({ name, frame }) => ({ name, frame: frameToJson(frame), wire: hex(encodeSerialFrame(frame)) })), ...badVectors()];
}

describe('COBS', () => {
  it('round-trips any bytes and never emits a zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        const block = cobsEncode(data);
        expect(block.includes(0)).toBe(false);
        expect(hex(cobsDecode(block))).toBe(hex(data));
      }),
    );
  });
});

describe('serial frame vectors', () => {
  it('match protocol/vectors/serial/vectors.json (AKB_REGENERATE=1 rewrites it)', async () => {
    const want = expected();
    if (process.env.AKB_REGENERATE === '1') {
      await mkdir(fileURLToPath(new URL('../../vectors/serial/', import.meta.url)), { recursive: true });
      await writeFile(VECTORS, `${JSON.stringify(want, null, 2)}\n`);
    }
    const stored = JSON.parse(await readFile(VECTORS, 'utf8')) as SerialVector[];
    expect(stored).toEqual(want);
    for (const v of stored) {
      const wire = Buffer.from(v.wire, 'hex');
      expect(wire.at(-1)).toBe(0);
      if (v.error) {
        expect(() => decodeSerialFrame(wire.subarray(0, -1))).toThrow(expect.objectContaining({ code: v.error }));
      } else {
        expect(frameToJson(decodeSerialFrame(wire.subarray(0, -1)))).toEqual(v.frame);
      }
    }
  });
});

describe('hostile serial bytes', () => {
  const onlyProtocolErrors = (block: Uint8Array): void => {
    try {
      decodeSerialFrame(block);
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
    }
  };

  // Thrown: random blocks of up to 5000 bytes, and bodies without COBS.
  it('decodes random blocks to a frame or a ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => onlyProtocolErrors(b)), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      try { decodeSerialBody(b); } catch (e) { expect(e).toBeInstanceOf(ProtocolError); }
    }), { numRuns: 2000 });
  });

  // Thrown: valid frames with one random byte replaced, then re-encoded with a good CRC (so the fields are judged).
  it('judges corrupted fields behind a valid CRC with ProtocolError only', () => {
    const frames = vectorFrames().map((v) => v.frame);
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.nat(), fc.integer({ min: 0, max: 255 }), (f: SerialFrame, at, value) => {
        const body = encodeSerialBody(f);
        const n = body.length - 4;
        body[at % n] = value;
        const wire = wireOf(body, n);
        onlyProtocolErrors(wire.subarray(0, -1));
      }),
      { numRuns: 3000 },
    );
  });

  // Thrown: a block longer than the limit, then a good frame: the long one is dropped, the good one decodes.
  it('drops an oversized block without growing its buffer, then resynchronises', () => {
    const got: SerialFrame[] = [];
    const d = new SerialDeframer((f) => got.push(f));
    d.push(new Uint8Array(MAX_SERIAL_BLOCK * 3).fill(7));
    d.push(new Uint8Array([0]));
    d.push(encodeSerialFrame({ type: 'NAK', offset: 5 }));
    expect(d.counts.bad).toBe(1);
    expect(got).toEqual([{ type: 'NAK', offset: 5 }]);
  });

  // Thrown: a HELLO declaring 2^40 bytes, a DATA frame whose offset + length passes the 1 GiB limit.
  it('refuses sizes over the limit before anything is allocated', () => {
    const hello = encodeSerialBody({ type: 'HELLO', size: MAX_SERIAL_BUNDLE, sha256: new Uint8Array(32), maxData: 1024, window: 8, force: false });
    new DataView(hello.buffer).setUint32(6, 256, true); // high word: 2^40
    expect(() => decodeSerialBody(fixCrc(hello))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    const data = encodeSerialBody({ type: 'DATA', seq: 1, offset: MAX_SERIAL_BUNDLE - 1, data: new Uint8Array(2) });
    expect(() => decodeSerialBody(data)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });
});

function fixCrc(body: Uint8Array): Uint8Array {
  const n = body.length - 4;
  new DataView(body.buffer, body.byteOffset).setUint32(n, crc32c(body.subarray(0, n)), true);
  return body;
}
