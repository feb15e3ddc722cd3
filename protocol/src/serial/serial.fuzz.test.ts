/**
 * Fuzzing serial flashing's framing (COBS, CRC-32C, the frame types) as a receiver meets it: a byte stream
 * cut at random, with line noise between frames. Properties: every frame of every type round-trips through
 * the deframer in order however the stream is chunked; noise never throws and never costs a frame that
 * follows a delimiter; CRC-valid bodies of random fields decode to a frame (which re-encodes to the same
 * bytes) or a ProtocolError; a RESULT code is written only when it reads back; sizes claimed up to 2^64 are
 * refused without allocating them. 28,200 cases per CI run (test/fuzz/runs.ts scales them); serial.test.ts
 * keeps its own 7,000.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitAt } from '../../../test/fuzz/bytes.js';
import { arrayBufferGrowth, fuzzRuns } from '../../../test/fuzz/runs.js';
import { ProtocolError } from '../errors.js';
import { crc32c } from '../frame/crc32c.js';
import { cobsDecode, cobsEncode } from './cobs.js';
import { SerialDeframer } from './deframer.js';
import {
  decodeSerialBody, decodeSerialFrame, encodeSerialBody, encodeSerialFrame, MAX_SERIAL_BLOCK, MAX_SERIAL_BUNDLE, MAX_SERIAL_DATA, MAX_SERIAL_TEXT,
  SERIAL_STATUSES, type SerialFrame,
} from './frames.js';

const offset = fc.nat({ max: MAX_SERIAL_BUNDLE });
const dataSize = fc.integer({ min: 1, max: MAX_SERIAL_DATA });
const windowSize = fc.integer({ min: 1, max: 256 });
const text = fc.string({ maxLength: 40, unit: 'grapheme' });

/** Every frame a correct peer may send. */
const frameArb: fc.Arbitrary<SerialFrame> = fc.oneof(
  fc.record({ type: fc.constant('HELLO' as const), size: offset, sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }), maxData: dataSize, window: windowSize, force: fc.boolean() }),
  fc.record({ type: fc.constant('READY' as const), offset, maxData: dataSize, window: windowSize }),
  fc
    .record({ type: fc.constant('DATA' as const), seq: fc.nat({ max: 0xffffffff }), offset, data: fc.uint8Array({ minLength: 1, maxLength: 300 }) })
    .map((f) => ({ ...f, offset: Math.min(f.offset, MAX_SERIAL_BUNDLE - f.data.length) })),
  fc.record({ type: fc.constant('ACK' as const), seq: fc.nat({ max: 0xffffffff }), offset, window: windowSize }),
  fc.record({ type: fc.constant('NAK' as const), offset }),
  fc.record({ type: fc.constant('DONE' as const), size: offset }),
  fc.record({ type: fc.constant('RESULT' as const), status: fc.constantFrom(...SERIAL_STATUSES), code: fc.stringMatching(/^[A-Z0-9_]{0,40}$/), message: text }),
  fc.record({ type: fc.constant('BUSY' as const), phase: text }),
);


function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A receiver that records frames and refusals, failing on anything but a ProtocolError. */
function receiver(): { d: SerialDeframer; frames: SerialFrame[]; bad: ProtocolError[] } {
  const frames: SerialFrame[] = [];
  const bad: ProtocolError[] = [];
  const d = new SerialDeframer((f) => frames.push(f), (e) => {
    expect(e).toBeInstanceOf(ProtocolError);
    bad.push(e);
  });
  return { d, frames, bad };
}

describe('serial framing under fuzzing', () => {
  it('frames of every type come back in order through a stream cut anywhere, with noise between them', () => {
    // Noise sits between delimiters (a line glitch between frames); it may be anything, zeros included.
    const item = fc.oneof({ weight: 4, arbitrary: frameArb.map((f) => ({ f })) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((noise) => ({ noise })) });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (items, cuts) => {
        const sent = items.flatMap((i) => ('f' in i ? [i.f] : []));
        const wire = concat(items.map((i) => ('f' in i ? encodeSerialFrame(i.f) : Uint8Array.from([0, ...i.noise, 0]))));
        const { d, frames } = receiver();
        for (const c of splitAt(wire, cuts)) d.push(c);
        // Noise may itself decode (it is random bytes, and 1 in 2^32 passes a CRC): compare the real frames.
        const got = frames.filter((f) => sent.some((s) => sameWire(s, f)));
        expect(got.map((f) => encodeSerialBody(f))).toEqual(sent.map((f) => encodeSerialBody(decodeSerialBody(encodeSerialBody(f)))));
      }),
      fuzzRuns(6_000),
    );
  });

  it('a random byte stream never throws, and every block is counted once', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 10 }), fc.nat({ max: 6 }), (bytes, cuts, zeros) => {
        const stream = concat([bytes, new Uint8Array(zeros)]);
        const { d, frames, bad } = receiver();
        for (const c of splitAt(stream, cuts)) d.push(c);
        expect(d.counts.frames).toBe(frames.length);
        expect(d.counts.bad).toBe(bad.length);
        expect(frames.length + bad.length).toBeLessThanOrEqual(stream.filter((b) => b === 0).length);
      }),
      fuzzRuns(6_000),
    );
  });

  it('CRC-valid bodies of random fields decode or throw ProtocolError, and what decodes re-encodes to itself', () => {
    const body = fc.tuple(fc.constantFrom(1, 1, 1, 0, 2), fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 120 })).map(([version, type, fields]) => {
      const b = new Uint8Array(2 + fields.length + 4);
      b[0] = version;
      b[1] = type;
      b.set(fields, 2);
      new DataView(b.buffer).setUint32(b.length - 4, crc32c(b.subarray(0, b.length - 4)), true);
      return b;
    });
    fc.assert(
      fc.property(body, (b) => {
        let f: SerialFrame;
        try {
          f = decodeSerialBody(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          return;
        }
        expect(encodeSerialBody(f)).toEqual(b);
        expect(decodeSerialFrame(cobsEncode(b))).toEqual(f);
      }),
      fuzzRuns(8_000),
    );
  });

  it('a RESULT of any code is written only when it reads back the same', () => {
    const code = fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^[A-Z0-9_]{0,70}$/));
    fc.assert(
      fc.property(fc.constantFrom(...SERIAL_STATUSES), code, text, (status, c, message) => {
        let wire: Uint8Array;
        try {
          wire = encodeSerialFrame({ type: 'RESULT', status, code: c, message });
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          expect(/^[A-Z0-9_]{0,64}$/.test(c)).toBe(false);
          return;
        }
        expect(decodeSerialFrame(wire.subarray(0, -1))).toMatchObject({ type: 'RESULT', status, code: c });
      }),
      fuzzRuns(2_000),
    );
  });

  it('random COBS blocks decode to at most their own length or throw ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (block) => {
        try {
          const out = cobsDecode(block);
          expect(out.length).toBeLessThanOrEqual(block.length);
          expect(cobsEncode(out).length).toBeGreaterThanOrEqual(out.length);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      fuzzRuns(4_000),
    );
  });

  it('claimed sizes up to 2^64 and texts up to 65535 bytes are refused without allocating them', () => {
    const claim = fc.record({
      type: fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8),
      lo: fc.nat({ max: 0xffffffff }),
      hi: fc.oneof(fc.integer({ min: 1, max: 0xffffffff }), fc.constant(0x200000)), // 2^32 and more: past MAX_SERIAL_BUNDLE
      textLength: fc.integer({ min: MAX_SERIAL_TEXT + 1, max: 0xffff }),
    });
    fc.assert(
      fc.property(claim, ({ type, lo, hi, textLength }) => {
        const fields = new Uint8Array(2 + 8 + 8 + 4);
        const view = new DataView(fields.buffer);
        fields[0] = 1;
        fields[1] = type;
        const at = type === 3 || type === 4 ? 6 : 2; // DATA and ACK: a u32 seq, then the u64
        view.setUint32(at, type === 7 ? 0 : lo, true); // RESULT: status 0, code length 0, then the text length
        view.setUint32(at + 4, hi, true);
        if (type === 7 || type === 8) view.setUint16(type === 7 ? 4 : 2, textLength, true);
        view.setUint32(fields.length - 4, crc32c(fields.subarray(0, fields.length - 4)), true);
        const growth = arrayBufferGrowth(() => {
          expect(() => decodeSerialBody(fields)).toThrow(ProtocolError);
          const { d } = receiver();
          d.push(Uint8Array.from([...cobsEncode(fields), 0]));
        });
        expect(growth).toBeLessThan(1 << 20);
      }),
      fuzzRuns(2_000),
    );
  });

  it('an endless block never grows the receiver past MAX_SERIAL_BLOCK, and the next frame still decodes', () => {
    const run = new Uint8Array(4096).fill(0x41);
    fc.assert(
      fc.property(fc.integer({ min: MAX_SERIAL_BLOCK + 1, max: 64 * MAX_SERIAL_BLOCK }), frameArb, (length, frame) => {
        const { d, frames, bad } = receiver();
        const growth = arrayBufferGrowth(() => {
          for (let sent = 0; sent < length; sent += run.length) d.push(run.subarray(0, Math.min(run.length, length - sent)));
        });
        expect(growth).toBeLessThan(64 * 1024);
        d.push(Uint8Array.from([0, ...encodeSerialFrame(frame)]));
        expect(bad.map((e) => e.code)).toEqual(['TOO_LARGE']);
        expect(frames).toHaveLength(1);
      }),
      fuzzRuns(200),
    );
  });
});

/** Whether `got` is `sent` as the wire carries it (the encoder may shorten texts). */
function sameWire(sent: SerialFrame, got: SerialFrame): boolean {
  const a = encodeSerialBody(sent);
  const b = encodeSerialBody(got);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
