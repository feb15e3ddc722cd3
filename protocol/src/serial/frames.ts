/**
 * The frames of serial flashing (PROTOCOL.md, "Serial flashing"): what `akb flash` (the sender) and
 * `akb-agent receive` (the receiver) say to each other over a UART. A frame's body is
 * `version u8 (1) | type u8 | fields | CRC-32C u32` (little-endian; the CRC covers every byte before it),
 * COBS-encoded and ended by one 0x00 on the wire. Every size is bounded before anything is allocated: a
 * body is at most MAX_SERIAL_BODY bytes, a DATA frame carries 1 to MAX_SERIAL_DATA bytes, a declared
 * bundle size is at most MAX_SERIAL_BUNDLE. Decoders throw only ProtocolError.
 */
import { ProtocolError } from '../errors.js';
import { crc32c } from '../frame/crc32c.js';
import { cobsDecode, cobsEncode, cobsOverhead } from './cobs.js';

export const SERIAL_VERSION = 1;
/** Most payload bytes in one DATA frame. */
export const MAX_SERIAL_DATA = 4096;
/** Most bytes a bundle sent by serial may declare (1 GiB, the bundle reader's own limit). */
export const MAX_SERIAL_BUNDLE = 1024 * 1024 * 1024;
/** Longest text in RESULT (message) and BUSY frames, in UTF-8 bytes. */
export const MAX_SERIAL_TEXT = 512;
/** Longest RESULT code, bytes: ASCII `[A-Z0-9_]` (PROTOCOL.md, "Serial flashing"). */
export const MAX_SERIAL_CODE = 64;
const SERIAL_CODE = /^[A-Z0-9_]*$/u;
/** Longest frame body: a full DATA frame. */
export const MAX_SERIAL_BODY = 2 + 4 + 8 + MAX_SERIAL_DATA + 4;
/** Longest COBS block on the wire (without the 0x00). */
export const MAX_SERIAL_BLOCK = MAX_SERIAL_BODY + cobsOverhead(MAX_SERIAL_BODY);

export const SerialType = { HELLO: 1, READY: 2, DATA: 3, ACK: 4, NAK: 5, DONE: 6, RESULT: 7, BUSY: 8 } as const;

/** The install outcome a RESULT frame carries. */
export const SERIAL_STATUSES = ['committed', 'rolled-back', 'refused', 'error'] as const;
export type SerialStatus = (typeof SERIAL_STATUSES)[number];

export type SerialFrame =
  /** Sender → receiver: a bundle of `size` bytes with this SHA-256 is coming. */
  | { type: 'HELLO'; size: number; sha256: Uint8Array; maxData: number; window: number; force: boolean }
  /** Receiver → sender: send from `offset` (what it already holds), at most `maxData` a frame, `window` frames ahead. */
  | { type: 'READY'; offset: number; maxData: number; window: number }
  | { type: 'DATA'; seq: number; offset: number; data: Uint8Array }
  /** Every byte below `offset` is held; `seq` is the DATA frame that brought it there. */
  | { type: 'ACK'; seq: number; offset: number; window: number }
  /** A gap: the receiver expects `offset` next. */
  | { type: 'NAK'; offset: number }
  /** Sender → receiver: all `size` bytes were sent; install them. */
  | { type: 'DONE'; size: number }
  | { type: 'RESULT'; status: SerialStatus; code: string; message: string }
  /** Receiver → sender while it installs: the phase, so the sender knows it is alive. */
  | { type: 'BUSY'; phase: string };

const TYPE_NAMES = ['', 'HELLO', 'READY', 'DATA', 'ACK', 'NAK', 'DONE', 'RESULT', 'BUSY'] as const;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function textBytes(text: string, max: number): Uint8Array {
  let bytes = utf8.encode(text);
  if (bytes.length > max) bytes = utf8.encode(text.slice(0, max / 4)); // whole characters, under the limit
  return bytes;
}

/** The frame's body (before COBS), its CRC appended. Throws ProtocolError for a RESULT code the decoder refuses. */
export function encodeSerialBody(f: SerialFrame): Uint8Array {
  const fields: number[] = [];
  const u8 = (v: number) => fields.push(v & 0xff);
  const u16 = (v: number) => fields.push(v & 0xff, (v >>> 8) & 0xff);
  const u32 = (v: number) => fields.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (v: number) => (u32(v % 0x1_0000_0000), u32(Math.floor(v / 0x1_0000_0000)));
  const bytes = (b: Uint8Array) => fields.push(...b);
  u8(SERIAL_VERSION);
  u8(SerialType[f.type]);
  switch (f.type) {
    case 'HELLO':
      u64(f.size); bytes(f.sha256); u16(f.maxData); u16(f.window); u8(f.force ? 1 : 0);
      break;
    case 'READY':
      u64(f.offset); u16(f.maxData); u16(f.window);
      break;
    case 'DATA': {
      const head = Uint8Array.from([...fields, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      const body = new Uint8Array(head.length + f.data.length + 4);
      body.set(head);
      const view = new DataView(body.buffer);
      view.setUint32(2, f.seq, true);
      view.setUint32(6, f.offset % 0x1_0000_0000, true);
      view.setUint32(10, Math.floor(f.offset / 0x1_0000_0000), true);
      body.set(f.data, head.length);
      view.setUint32(body.length - 4, crc32c(body.subarray(0, body.length - 4)), true);
      return body;
    }
    case 'ACK':
      u32(f.seq); u64(f.offset); u16(f.window);
      break;
    case 'NAK':
      u64(f.offset);
      break;
    case 'DONE':
      u64(f.size);
      break;
    case 'RESULT': {
      // What the decoder refuses is not written: a code outside [A-Z0-9_] or over 64 bytes (the receiver maps
      // its error codes to these characters before it sends them).
      if (!SERIAL_CODE.test(f.code) || f.code.length > MAX_SERIAL_CODE) {
        throw new ProtocolError('BAD_HEADER', `a RESULT code must be at most ${MAX_SERIAL_CODE} of [A-Z0-9_], not ${JSON.stringify(f.code.slice(0, 80))}`);
      }
      const code = utf8.encode(f.code);
      const message = textBytes(f.message, MAX_SERIAL_TEXT);
      u8(SERIAL_STATUSES.indexOf(f.status)); u8(code.length); bytes(code); u16(message.length); bytes(message);
      break;
    }
    case 'BUSY': {
      const phase = textBytes(f.phase, MAX_SERIAL_TEXT);
      u16(phase.length); bytes(phase);
      break;
    }
  }
  const body = new Uint8Array(fields.length + 4);
  body.set(fields);
  new DataView(body.buffer).setUint32(fields.length, crc32c(body.subarray(0, fields.length)), true);
  return body;
}

/** The frame as it goes on the wire: COBS block and the 0x00 delimiter. */
export function encodeSerialFrame(f: SerialFrame): Uint8Array {
  const block = cobsEncode(encodeSerialBody(f));
  const wire = new Uint8Array(block.length + 1);
  wire.set(block);
  return wire;
}

/** Reads fields in order; every read is bounds-checked (TRUNCATED). */
class Fields {
  private at = 2;
  constructor(private readonly view: DataView, private readonly end: number) {}
  private need(n: number): number {
    if (this.at + n > this.end) throw new ProtocolError('TRUNCATED', `a serial frame ends inside its fields (at byte ${this.at}, ${n} more needed)`);
    const at = this.at;
    this.at += n;
    return at;
  }
  u8(): number { return this.view.getUint8(this.need(1)); }
  u16(): number { return this.view.getUint16(this.need(2), true); }
  u32(): number { return this.view.getUint32(this.need(4), true); }
  u64(what: string, max: number): number {
    const at = this.need(8);
    const hi = this.view.getUint32(at + 4, true);
    const v = hi * 0x1_0000_0000 + this.view.getUint32(at, true);
    if (hi > 0x1fffff || v > max) throw new ProtocolError('TOO_LARGE', `a serial frame's ${what} ${v} is over the limit ${max}`);
    return v;
  }
  bytes(n: number): Uint8Array {
    const at = this.need(n);
    return new Uint8Array(this.view.buffer, this.view.byteOffset + at, n).slice();
  }
  text(n: number, what: string): string {
    try {
      return fromUtf8.decode(this.bytes(n));
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      throw new ProtocolError('BAD_HEADER', `a serial frame's ${what} is not UTF-8`);
    }
  }
  rest(): number { return this.end - this.at; }
  done(): void {
    if (this.at !== this.end) throw new ProtocolError('BAD_LENGTH', `a serial frame has ${this.end - this.at} bytes after its fields`);
  }
}

/** Decodes a frame body (COBS already undone). Throws only ProtocolError. */
export function decodeSerialBody(body: Uint8Array): SerialFrame {
  if (body.length > MAX_SERIAL_BODY) throw new ProtocolError('TOO_LARGE', `a serial frame of ${body.length} bytes is over ${MAX_SERIAL_BODY}`);
  if (body.length < 6) throw new ProtocolError('TRUNCATED', `a serial frame of ${body.length} bytes is shorter than its header and CRC`);
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const end = body.length - 4;
  const crc = view.getUint32(end, true);
  if (crc32c(body.subarray(0, end)) !== crc) throw new ProtocolError('CRC_MISMATCH', 'a serial frame failed its CRC-32C');
  if (body[0] !== SERIAL_VERSION) throw new ProtocolError('UNSUPPORTED_VERSION', `serial frame version ${body[0]!} (this side speaks ${SERIAL_VERSION})`);
  const type = TYPE_NAMES[body[1]!];
  if (!type) throw new ProtocolError('BAD_HEADER', `unknown serial frame type ${body[1]!}`);
  const r = new Fields(view, end);
  let f: SerialFrame;
  switch (type) {
    case 'HELLO': {
      const size = r.u64('bundle size', MAX_SERIAL_BUNDLE);
      const sha256 = r.bytes(32);
      f = { type, size, sha256, maxData: dataSize(r.u16()), window: windowSize(r.u16()), force: (r.u8() & 1) === 1 };
      break;
    }
    case 'READY':
      f = { type, offset: r.u64('offset', MAX_SERIAL_BUNDLE), maxData: dataSize(r.u16()), window: windowSize(r.u16()) };
      break;
    case 'DATA': {
      const seq = r.u32();
      const offset = r.u64('offset', MAX_SERIAL_BUNDLE);
      const n = r.rest();
      if (n < 1 || n > MAX_SERIAL_DATA) throw new ProtocolError('BAD_LENGTH', `a DATA frame carries ${n} bytes (1 to ${MAX_SERIAL_DATA})`);
      if (offset + n > MAX_SERIAL_BUNDLE) throw new ProtocolError('TOO_LARGE', `a DATA frame ends at ${offset + n}, past ${MAX_SERIAL_BUNDLE}`);
      f = { type, seq, offset, data: r.bytes(n) };
      break;
    }
    case 'ACK':
      f = { type, seq: r.u32(), offset: r.u64('offset', MAX_SERIAL_BUNDLE), window: windowSize(r.u16()) };
      break;
    case 'NAK':
      f = { type, offset: r.u64('offset', MAX_SERIAL_BUNDLE) };
      break;
    case 'DONE':
      f = { type, size: r.u64('bundle size', MAX_SERIAL_BUNDLE) };
      break;
    case 'RESULT': {
      const status = SERIAL_STATUSES[r.u8()];
      if (!status) throw new ProtocolError('BAD_HEADER', 'a RESULT frame has an unknown status');
      const codeLength = r.u8();
      if (codeLength > MAX_SERIAL_CODE) throw new ProtocolError('TOO_LARGE', `a RESULT code of ${codeLength} bytes is over ${MAX_SERIAL_CODE}`);
      const code = r.text(codeLength, 'code');
      if (!SERIAL_CODE.test(code)) throw new ProtocolError('BAD_HEADER', 'a RESULT code is not [A-Z0-9_]');
      const n = r.u16();
      if (n > MAX_SERIAL_TEXT) throw new ProtocolError('TOO_LARGE', `a RESULT message of ${n} bytes is over ${MAX_SERIAL_TEXT}`);
      f = { type, status, code, message: r.text(n, 'message') };
      break;
    }
    case 'BUSY': {
      const n = r.u16();
      if (n > MAX_SERIAL_TEXT) throw new ProtocolError('TOO_LARGE', `a BUSY phase of ${n} bytes is over ${MAX_SERIAL_TEXT}`);
      f = { type, phase: r.text(n, 'phase') };
      break;
    }
  }
  r.done();
  return f;
}

function dataSize(n: number): number {
  if (n < 1 || n > MAX_SERIAL_DATA) throw new ProtocolError('BAD_HEADER', `a frame size of ${n} bytes (1 to ${MAX_SERIAL_DATA})`);
  return n;
}

function windowSize(n: number): number {
  if (n < 1 || n > 256) throw new ProtocolError('BAD_HEADER', `a window of ${n} frames (1 to 256)`);
  return n;
}

/** Decodes one COBS block from the wire (without its 0x00). Throws only ProtocolError. */
export function decodeSerialFrame(block: Uint8Array): SerialFrame {
  if (block.length > MAX_SERIAL_BLOCK) throw new ProtocolError('TOO_LARGE', `a serial block of ${block.length} bytes is over ${MAX_SERIAL_BLOCK}`);
  return decodeSerialBody(cobsDecode(block));
}
