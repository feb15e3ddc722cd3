import { describe, expect, it } from 'vitest';
import { OnnxFormatError } from './errors.js';
import { MAX_DEPTH, WireReader, WireWriter, varintSize } from './wire.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Asserts that `fn` throws a one-line OnnxFormatError whose message matches `pattern`. */
function expectFormatError(fn: () => unknown, pattern: RegExp): OnnxFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OnnxFormatError);
  const err = caught as OnnxFormatError;
  expect(err.message).toMatch(pattern);
  expect(err.message).not.toContain('\n');
  return err;
}

describe('varints', () => {
  it('reads and writes the canonical encodings protobuf uses', () => {
    const w = new WireWriter(4);
    w.varint(0);
    w.varint(150);
    w.int64(-1);
    w.int32(-2);
    w.int64(2 ** 53 - 1);
    w.int64Big(-(2n ** 63n));
    w.uint64Big(2n ** 64n - 1n);
    const out = w.finish();
    // 150 is 0x96 0x01; -1 as int64 is ten bytes, the last 0x01.
    expect(Array.from(out.subarray(0, 3))).toEqual([0x00, 0x96, 0x01]);
    expect(Array.from(out.subarray(3, 13))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const r = new WireReader(out);
    expect(r.uint64()).toBe(0);
    expect(r.uint64()).toBe(150);
    expect(r.int64()).toBe(-1);
    expect(r.int32()).toBe(-2);
    expect(r.int64()).toBe(2 ** 53 - 1);
    expect(r.int64Big()).toBe(-(2n ** 63n));
    expect(r.uint64Big()).toBe(2n ** 64n - 1n);
    expect(r.pos).toBe(out.length);
  });

  it('clamps numbers beyond int64 to its extremes, so INT64_MAX read as a number writes back exactly', () => {
    const w = new WireWriter();
    w.int64(Number(2n ** 63n - 1n)); // 2^63 after rounding to a double
    const r = new WireReader(w.finish());
    expect(r.int64Big()).toBe(2n ** 63n - 1n);
  });

  it('sizes varints like the writer writes them', () => {
    for (const v of [0, 127, 128, 16383, 16384, 2 ** 31, 2 ** 35, 2 ** 53 - 1]) {
      const w = new WireWriter(1);
      w.varint(v);
      expect(w.finish().length).toBe(varintSize(v));
    }
  });

  it('refuses a varint over 10 bytes (thrown at it: eleven 0xff bytes then 0x01)', () => {
    const r = new WireReader(bytes(...new Array<number>(11).fill(0xff), 0x01));
    expectFormatError(() => r.uint64(), /varint longer than 10 bytes at byte 0/);
  });

  it('refuses a truncated varint (thrown at it: 0x96 with no following byte)', () => {
    expectFormatError(() => new WireReader(bytes(0x96)).uint64(), /truncated varint at byte 0/);
  });

  it('refuses writing a fraction as an int64', () => {
    expect(() => new WireWriter().int64(1.5)).toThrow(RangeError);
  });
});

describe('tags, lengths and skipping', () => {
  it('refuses field number 0 (thrown at it: tag byte 0x00)', () => {
    expectFormatError(() => new WireReader(bytes(0x00)).tag(), /invalid field tag 0 at byte 0/);
  });

  it('refuses wire types 6 and 7 (thrown at it: tags 0x0e and 0x0f)', () => {
    expectFormatError(() => new WireReader(bytes(0x0e)).tag(), /invalid wire type 6/);
    expectFormatError(() => new WireReader(bytes(0x0f)).tag(), /invalid wire type 7/);
  });

  it('refuses a length past the end (thrown at it: length 5 with 2 bytes left)', () => {
    const r = new WireReader(bytes(0x0a, 0x05, 0x01, 0x02));
    r.tag();
    expectFormatError(() => r.bytes(), /length 5 runs past the end \(2 bytes left\) at byte 1/);
  });

  it('refuses groups (thrown at it: a start-group tag for field 1)', () => {
    const r = new WireReader(bytes(0x0b, 0x0c));
    const tag = r.tag();
    expectFormatError(() => r.skip(tag, 0), /unsupported wire type 3/);
  });

  it('refuses a truncated fixed32 (thrown at it: 3 bytes of a float)', () => {
    const r = new WireReader(bytes(0x15, 0x00, 0x00, 0x80));
    r.tag();
    expectFormatError(() => r.float32(), /truncated 4-byte value at byte 1/);
  });

  it('skips every wire type to the next field', () => {
    const w = new WireWriter();
    w.tag(1, 0);
    w.int64(-5);
    w.tag(2, 1);
    w.float64(1.5);
    w.tag(3, 2);
    w.bytes(bytes(1, 2, 3));
    w.tag(4, 5);
    w.float32(2.5);
    w.tag(5, 0);
    w.varint(42);
    const r = new WireReader(w.finish());
    for (let i = 0; i < 4; i++) {
      const start = r.pos;
      r.skip(r.tag(), start);
    }
    expect(r.tag() >>> 3).toBe(5);
    expect(r.uint64()).toBe(42);
  });

  it('keeps a submessage inside its length: a varint may not run into the parent', () => {
    // Field 1, length 1, containing 0x80 (a varint that continues), then 0x01 belonging to the parent.
    const r = new WireReader(bytes(0x0a, 0x01, 0x80, 0x01));
    r.tag();
    r.enter();
    expectFormatError(() => r.uint64(), /truncated varint at byte 2/);
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} (thrown at it: 101 nested length prefixes)`, () => {
    const depth = MAX_DEPTH + 1;
    const buf = new Uint8Array(depth * 2);
    for (let i = 0; i < depth; i++) {
      buf[i * 2] = 0x0a;
      buf[i * 2 + 1] = 0;
    }
    const r = new WireReader(buf);
    expectFormatError(() => {
      for (let i = 0; i < depth; i++) {
        r.limit = buf.length; // pretend each level is as long as the rest
        r.tag();
        r.enter();
      }
    }, /nested deeper than 100/);
  });
});

describe('the writer', () => {
  it('puts a length in front of a submessage, shifting the body when the length needs two bytes', () => {
    const w = new WireWriter(8);
    const body = new Uint8Array(300).map((_, i) => i & 0xff);
    w.message(7, () => w.raw(body));
    const out = w.finish();
    expect(Array.from(out.subarray(0, 3))).toEqual([0x3a, 0xac, 0x02]); // tag 7/LEN, 300 as a varint
    expect(out.subarray(3)).toEqual(body);
  });

  it('writes strings as UTF-8, ASCII or not', () => {
    const w = new WireWriter(2);
    w.string('abc');
    w.string('é∑😀');
    w.string('x'.repeat(1000));
    const r = new WireReader(w.finish());
    expect(r.string()).toBe('abc');
    expect(r.string()).toBe('é∑😀');
    expect(r.string()).toBe('x'.repeat(1000));
  });
});
