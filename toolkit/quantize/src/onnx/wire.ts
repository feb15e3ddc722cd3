/**
 * Protobuf wire format by hand: a bounds-checked reader and a growable writer.
 *
 * The reader never reads past `limit` (the end of the message being decoded) and throws OnnxFormatError,
 * with the byte offset, on anything malformed: a truncated varint or fixed-width value, a varint over 10
 * bytes, a length past the end, a wire type that does not exist. Bytes fields come back as `subarray`
 * views of the input, never copies, so a 100 MB initializer costs nothing to decode. The writer produces the same bytes as the reference protobuf implementations: canonical (shortest)
 * varints, negative int32/int64 as 10-byte two's complement, little-endian fixed-width values.
 */
import { OnnxFormatError } from './errors.js';

/** Protobuf wire types. Groups (3, 4) are deprecated and never used by ONNX. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, START_GROUP: 3, END_GROUP: 4, I32: 5 } as const;

const TWO_32 = 4294967296;
/** Deepest submessage nesting accepted (protobuf's own default recursion limit is 100). */
export const MAX_DEPTH = 100;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Reads protobuf fields from a byte buffer; every read is checked against `limit`. */
export class WireReader {
  readonly buf: Uint8Array;
  /** Next byte to read. */
  pos: number;
  /** End of the message being decoded (exclusive); nested messages narrow it. */
  limit: number;
  /** What is being decoded, for error messages (e.g. `NodeProto`). */
  context = 'ModelProto';
  /** Nesting depth of the submessage being decoded; hostile input cannot overflow the stack. */
  depth = 0;
  private readonly view: DataView;
  private lo = 0;
  private hi = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.pos = 0;
    this.limit = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Throws OnnxFormatError at `offset` (default: the current position). */
  fail(what: string, offset = this.pos): never {
    throw new OnnxFormatError(`corrupt ONNX protobuf: ${what} at byte ${offset} (in ${this.context})`, { offset });
  }

  private byte(start: number): number {
    if (this.pos >= this.limit) this.fail('truncated varint', start);
    return this.buf[this.pos++]!;
  }

  /** Reads a varint of up to 10 bytes into `lo`/`hi` (the two 32-bit halves, unsigned). */
  private varint64(): void {
    const start = this.pos;
    let b = this.byte(start);
    if (b < 0x80) {
      this.lo = b;
      this.hi = 0;
      return;
    }
    let lo = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      b = this.byte(start);
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    b = this.byte(start);
    lo |= (b & 0x7f) << 28;
    let hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) this.fail('varint longer than 10 bytes', start);
        b = this.byte(start);
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** A varint as an unsigned number; values over 2^53 lose precision (use `uint64Big`). */
  uint64(): number {
    this.varint64();
    return this.hi * TWO_32 + this.lo;
  }

  /** An int64 varint as a number: exact up to 2^53 in magnitude; the int64 extremes round to ±2^63. */
  int64(): number {
    this.varint64();
    return (this.hi | 0) * TWO_32 + this.lo;
  }

  /** An int32 (or enum) varint: the low 32 bits, signed. */
  int32(): number {
    this.varint64();
    return this.lo | 0;
  }

  /** An int64 varint, exactly. */
  int64Big(): bigint {
    this.varint64();
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }

  /** A uint64 varint, exactly. */
  uint64Big(): bigint {
    this.varint64();
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** A field tag: `field << 3 | wireType`. Field 0 and wire types 6 and 7 are refused. */
  tag(): number {
    const start = this.pos;
    const t = this.uint64();
    if (t > 0xffffffff || t >>> 3 === 0) this.fail(`invalid field tag ${t}`, start);
    const wire = t & 7;
    if (wire > 5) this.fail(`invalid wire type ${wire} (field ${t >>> 3})`, start);
    return t;
  }

  /** A length prefix, checked against the bytes left in the current message. */
  length(): number {
    const start = this.pos;
    const n = this.uint64();
    if (n > this.limit - this.pos) this.fail(`length ${n} runs past the end (${this.limit - this.pos} bytes left)`, start);
    return n;
  }

  /** A length-delimited field's bytes, as a view of the input (no copy). */
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length-delimited UTF-8 string. */
  string(): string {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    if (n < 64) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return utf8Decoder.decode(this.buf.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8Decoder.decode(this.buf.subarray(start, start + n));
  }

  private need(n: number): void {
    if (this.limit - this.pos < n) this.fail(`truncated ${n}-byte value`);
  }

  /** A little-endian float32 (wire type I32). */
  float32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A little-endian float64 (wire type I64). */
  float64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A packed run of float32 (after the tag), appended to `out`. */
  packedFloat32(out: number[]): void {
    const n = this.length();
    if (n % 4 !== 0) this.fail(`packed float run of ${n} bytes is not a multiple of 4`);
    for (const end = this.pos + n; this.pos < end; this.pos += 4) out.push(this.view.getFloat32(this.pos, true));
  }

  /** A packed run of float64 (after the tag), appended to `out`. */
  packedFloat64(out: number[]): void {
    const n = this.length();
    if (n % 8 !== 0) this.fail(`packed double run of ${n} bytes is not a multiple of 8`);
    for (const end = this.pos + n; this.pos < end; this.pos += 8) out.push(this.view.getFloat64(this.pos, true));
  }

  /** A packed run of varints (after the tag): calls `one` until the run is consumed. */
  packedVarints(one: () => void): void {
    const n = this.length();
    const saved = this.limit;
    this.limit = this.pos + n;
    while (this.pos < this.limit) one();
    this.limit = saved;
  }

  /** Skips one field's value after its tag; groups are refused (ONNX never uses them). */
  skip(tag: number, tagStart: number): void {
    switch (tag & 7) {
      case WireType.VARINT:
        this.varint64();
        return;
      case WireType.I64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LEN: {
        const n = this.length(); // not `this.pos += this.length()`: that would add to the old position
        this.pos += n;
        return;
      }
      case WireType.I32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${tag & 7} (field ${tag >>> 3}; groups are not used by ONNX)`, tagStart);
    }
  }

  /**
   * Narrows `limit` to a length-delimited submessage and returns the previous limit, which the caller
   * restores with `leave` once the submessage is decoded.
   */
  enter(): number {
    if (++this.depth > MAX_DEPTH) this.fail(`messages nested deeper than ${MAX_DEPTH}`);
    const n = this.length();
    const saved = this.limit;
    this.limit = this.pos + n;
    return saved;
  }

  leave(savedLimit: number): void {
    this.depth--;
    this.limit = savedLimit;
  }

  /** Refuses a known field that arrived with the wrong wire type. */
  expect(tag: number, wire: number, tagStart: number): void {
    if ((tag & 7) !== wire) this.fail(`field ${tag >>> 3} has wire type ${tag & 7}, expected ${wire}`, tagStart);
  }
}

/** Number of bytes of `v` (a non-negative integer below 2^64) as a varint. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes protobuf fields into a growing buffer. */
export class WireWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initialCapacity = 1 << 16) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** The bytes written so far (a view; copy it before writing more). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A non-negative integer below 2^53 as a varint. */
  varint(v: number): void {
    this.ensure(10);
    while (v >= 128) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** An int64 field from a number: negatives as 10-byte two's complement, beyond ±2^63 clamped. */
  int64(v: number): void {
    if (!Number.isInteger(v)) throw new RangeError(`cannot encode ${v} as an int64 protobuf field`);
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) this.varint(v);
    else this.int64Big(v >= 2 ** 63 ? INT64_MAX : v < -(2 ** 63) ? INT64_MIN : BigInt(v));
  }

  /** An int32 or enum field: negatives sign-extended to 10 bytes, as protobuf does. */
  int32(v: number): void {
    if (!Number.isInteger(v)) throw new RangeError(`cannot encode ${v} as an int32 protobuf field`);
    if (v >= 0) this.varint(v);
    else this.uint64Big(BigInt.asUintN(64, BigInt(v)));
  }

  int64Big(v: bigint): void {
    this.uint64Big(BigInt.asUintN(64, v));
  }

  uint64Big(v: bigint): void {
    this.ensure(10);
    let x = BigInt.asUintN(64, v);
    while (x >= 128n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  float32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Raw bytes, no prefix (an unknown field kept verbatim, or a packed payload). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** A length-delimited bytes value (after its tag). */
  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** A length-delimited UTF-8 string (after its tag). */
  string(s: string): void {
    let ascii = s.length < 256;
    if (ascii) {
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) {
      this.varint(s.length);
      this.ensure(s.length);
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    this.bytes(utf8Encoder.encode(s));
  }

  /**
   * A length-delimited submessage: writes the tag, then `body`, then puts the length in front of it. One
   * byte is reserved for the length; a longer length shifts the body right (once per nesting level).
   */
  message(field: number, body: () => void): void {
    this.tag(field, WireType.LEN);
    this.ensure(1);
    const lenPos = this.pos++;
    body();
    const len = this.pos - lenPos - 1;
    const size = varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(lenPos + size, lenPos + 1, this.pos);
      this.pos += size - 1;
    }
    let v = len;
    let p = lenPos;
    while (v >= 128) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[p] = v;
  }
}
