/**
 * The version-1 frame header: its constants, its type, and the field rules shared by the encoder and the
 * decoder, so the encoder can never write a frame the decoder refuses. Layout and rules: PROTOCOL.md,
 * "Binary symbol frame".
 */
import { ProtocolError } from '../errors.js';

export const FRAME_MAGIC_0 = 0x41; // 'A'
export const FRAME_MAGIC_1 = 0x4b; // 'K'
export const FRAME_VERSION = 1;
/** Header length written by v1 senders; receivers accept longer headers and skip the extra bytes. */
export const FRAME_HEADER_LENGTH = 56;
export const FRAME_CRC_LENGTH = 4;
/** Largest total complex-symbol count of one frame (all fragments). */
export const MAX_TOTAL_SYMBOLS = 2 ** 24;
/** Largest payload of one fragment, in bytes. */
export const MAX_PAYLOAD_BYTES = 2 ** 24;
export const MAX_FRAGMENT_COUNT = 0xffff;

export const FLAG_KB_ENTRY = 0x01;
export const FLAG_END_OF_SESSION = 0x02;
/** Protocol 1.3: the header bytes from 56 up to the header length are extensions (type, length, value). */
export const FLAG_EXTENSIONS = 0x04;

/** Extension types (protocol 1.3). 0 is one byte of padding, with no length. */
export const EXT_PAD = 0x00;
/** The receiver's measured channel SNR of this fragment, dB: f32, 4 bytes. */
export const EXT_RX_SNR = 0x01;
/** Bytes of the RX_SNR extension with its type and length. */
const EXT_RX_SNR_BYTES = 6;
/** The header length a sender writes with an RX_SNR extension: 56 + 6, padded to a multiple of 4. */
export const FRAME_HEADER_LENGTH_RX_SNR = 64;
/** An RX_SNR outside this range, or not finite, is ignored by receivers and refused by senders. */
export const RX_SNR_LIMIT_DB = 100;

export const SYMBOL_DTYPES = ['float32', 'float16', 'int8'] as const;
export type SymbolDtype = (typeof SYMBOL_DTYPES)[number];

/** Wire code of each dtype (index in SYMBOL_DTYPES) and the bytes of one real value (I or Q). */
export const DTYPE_CODE: Readonly<Record<SymbolDtype, number>> = { float32: 0, float16: 1, int8: 2 };
export const BYTES_PER_VALUE: Readonly<Record<SymbolDtype, number>> = { float32: 4, float16: 2, int8: 1 };

/** A decoded header. Counts and offsets are in complex symbols; `payloadLength` is in bytes. */
export interface FrameHeader {
  readonly version: number;
  readonly headerLength: number;
  readonly dtype: SymbolDtype;
  /** Flag bit 0: `kbEntry` is meaningful. */
  readonly hasKbEntry: boolean;
  /** Flag bit 1: the sender ends its session with this frame. */
  readonly endOfSession: boolean;
  readonly actionId: number;
  readonly deviceId: number;
  readonly sessionId: number;
  readonly frameId: number;
  readonly fragmentIndex: number;
  readonly fragmentCount: number;
  readonly kbVersion: number;
  readonly kbEntry: number;
  readonly totalSymbols: number;
  readonly symbolOffset: number;
  /** int8: value = q * scale; float dtypes: exactly 1. */
  readonly scale: number;
  readonly payloadLength: number;
  /** Microseconds since the Unix epoch (at most 2^53 - 1, so it is exact as a JS number). */
  readonly timestampUs: number;
  /**
   * Protocol 1.3, RX_SNR extension: the channel SNR the receiver (a gateway) measured on this fragment, dB,
   * in the unit-power convention. Absent when the frame carries none (or a malformed extension area).
   */
  readonly rxSnrDb?: number;
}

/** What a sender supplies: version is always 1, the payload length comes from the payload. */
export type FrameHeaderInit = Omit<FrameHeader, 'version' | 'headerLength' | 'payloadLength'> & {
  /**
   * 56 (64 with `rxSnrDb`) unless a test wants to exercise forward compatibility; extra bytes are written as
   * zeros (after the RX_SNR extension when there is one: zeros are padding).
   */
  readonly headerLength?: number;
};

/** The header length a sender writes for `h`: its own, else 64 with an RX_SNR extension, else 56. */
export function initHeaderLength(h: FrameHeaderInit): number {
  return h.headerLength ?? (h.rxSnrDb !== undefined ? FRAME_HEADER_LENGTH_RX_SNR : FRAME_HEADER_LENGTH);
}

export function dtypeFromCode(code: number): SymbolDtype {
  const dtype = SYMBOL_DTYPES[code];
  if (dtype === undefined) {
    throw new ProtocolError('BAD_DTYPE', `unknown symbol dtype code ${code}`, { hint: 'v1 knows 0 float32, 1 float16, 2 int8' });
  }
  return dtype;
}

/**
 * The checks that need only the header (run after the CRC on decode, before writing on encode).
 * Order matters: it is the order PROTOCOL.md documents and the vectors expect.
 */
export function checkHeaderFields(h: Omit<FrameHeader, 'version' | 'headerLength' | 'payloadLength'>, payloadLength: number): void {
  if (!Number.isSafeInteger(h.timestampUs) || h.timestampUs < 0) {
    throw new ProtocolError('BAD_HEADER', `timestamp ${h.timestampUs} µs is not an integer in [0, 2^53)`);
  }
  if (h.fragmentCount < 1 || h.fragmentIndex >= h.fragmentCount) {
    throw new ProtocolError('BAD_FRAGMENT', `fragment index ${h.fragmentIndex} is not below fragment count ${h.fragmentCount}`);
  }
  const bytesPerSymbol = 2 * BYTES_PER_VALUE[h.dtype];
  if (payloadLength % bytesPerSymbol !== 0) {
    throw new ProtocolError('BAD_LENGTH', `payload of ${payloadLength} bytes is not whole ${h.dtype} complex symbols`, {
      hint: `a complex symbol takes ${bytesPerSymbol} bytes`,
    });
  }
  if (h.totalSymbols > MAX_TOTAL_SYMBOLS) {
    throw new ProtocolError('TOO_LARGE', `frame of ${h.totalSymbols} symbols exceeds the limit of ${MAX_TOTAL_SYMBOLS}`);
  }
  const symbols = payloadLength / bytesPerSymbol;
  if (h.symbolOffset + symbols > h.totalSymbols) {
    throw new ProtocolError(
      'BAD_FRAGMENT',
      `fragment symbols ${h.symbolOffset}..${h.symbolOffset + symbols} run past the frame's ${h.totalSymbols} symbols`,
    );
  }
  if (h.dtype === 'int8' ? !(Number.isFinite(h.scale) && h.scale > 0) : h.scale !== 1) {
    throw new ProtocolError('BAD_HEADER', `scale ${h.scale} is invalid for ${h.dtype}`, {
      hint: 'int8 needs a finite scale > 0; float32 and float16 frames carry scale 1',
    });
  }
}

const U8 = 0xff;
const U16 = 0xffff;
const U32 = 0xffffffff;

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new ProtocolError('BAD_HEADER', `${name} ${value} is not an integer in [0, ${max}]`);
  }
}

/** Validates what a sender asks for: every field in range, then the shared field rules. */
export function checkHeaderInit(h: FrameHeaderInit, payloadLength: number): void {
  const headerLength = initHeaderLength(h);
  checkUint('header length', headerLength, U8);
  if (headerLength < FRAME_HEADER_LENGTH) {
    throw new ProtocolError('BAD_HEADER', `header length ${headerLength} is below ${FRAME_HEADER_LENGTH}`);
  }
  if (h.rxSnrDb !== undefined) {
    if (typeof h.rxSnrDb !== 'number' || !(Math.abs(h.rxSnrDb) <= RX_SNR_LIMIT_DB)) {
      throw new ProtocolError('BAD_HEADER', `rxSnrDb ${String(h.rxSnrDb)} is not a number in [-${RX_SNR_LIMIT_DB}, ${RX_SNR_LIMIT_DB}] dB`);
    }
    if (headerLength < FRAME_HEADER_LENGTH + EXT_RX_SNR_BYTES) {
      throw new ProtocolError('BAD_HEADER', `header length ${headerLength} leaves no room for the RX_SNR extension`, {
        hint: `use ${FRAME_HEADER_LENGTH_RX_SNR} (the default with rxSnrDb)`,
      });
    }
  }
  if (typeof h.dtype !== 'string' || !Object.hasOwn(DTYPE_CODE, h.dtype)) {
    throw new ProtocolError('BAD_DTYPE', `unknown symbol dtype ${String(h.dtype)}`);
  }
  checkUint('action id', h.actionId, U16);
  checkUint('fragment index', h.fragmentIndex, U16);
  checkUint('fragment count', h.fragmentCount, U16);
  checkUint('device id', h.deviceId, U32);
  checkUint('session id', h.sessionId, U32);
  checkUint('frame id', h.frameId, U32);
  checkUint('KB version', h.kbVersion, U32);
  checkUint('KB entry', h.kbEntry, U32);
  checkUint('total symbols', h.totalSymbols, U32);
  checkUint('symbol offset', h.symbolOffset, U32);
  if (Math.fround(h.scale) !== h.scale && !Number.isNaN(h.scale)) {
    throw new ProtocolError('BAD_HEADER', `scale ${h.scale} is not a float32 value`, {
      hint: 'use the scale packSymbols returns, so the receiver dequantizes with the number the sender used',
    });
  }
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError('TOO_LARGE', `payload of ${payloadLength} bytes exceeds the limit of ${MAX_PAYLOAD_BYTES}`);
  }
  checkHeaderFields(h, payloadLength);
}

/**
 * Writes a checked header at `view`'s start: the 56 bytes, then the RX_SNR extension when `h` has one and
 * zeros (padding) up to `headerLength`.
 */
export function writeHeader(view: DataView, h: FrameHeaderInit, headerLength: number, payloadLength: number): void {
  const ext = h.rxSnrDb !== undefined;
  const flags = (h.hasKbEntry ? FLAG_KB_ENTRY : 0) | (h.endOfSession ? FLAG_END_OF_SESSION : 0) | (ext ? FLAG_EXTENSIONS : 0);
  view.setUint8(0, FRAME_MAGIC_0);
  view.setUint8(1, FRAME_MAGIC_1);
  view.setUint8(2, FRAME_VERSION);
  view.setUint8(3, flags);
  view.setUint8(4, headerLength);
  view.setUint8(5, DTYPE_CODE[h.dtype]);
  view.setUint16(6, h.actionId, true);
  view.setUint32(8, h.deviceId, true);
  view.setUint32(12, h.sessionId, true);
  view.setUint32(16, h.frameId, true);
  view.setUint16(20, h.fragmentIndex, true);
  view.setUint16(22, h.fragmentCount, true);
  view.setUint32(24, h.kbVersion, true);
  view.setUint32(28, h.kbEntry, true);
  view.setUint32(32, h.totalSymbols, true);
  view.setUint32(36, h.symbolOffset, true);
  view.setFloat32(40, h.scale, true);
  view.setUint32(44, payloadLength, true);
  view.setUint32(48, h.timestampUs % 2 ** 32, true);
  view.setUint32(52, Math.floor(h.timestampUs / 2 ** 32), true);
  for (let i = FRAME_HEADER_LENGTH; i < headerLength; i++) view.setUint8(i, 0);
  if (ext) {
    view.setUint8(FRAME_HEADER_LENGTH, EXT_RX_SNR);
    view.setUint8(FRAME_HEADER_LENGTH + 1, 4);
    view.setFloat32(FRAME_HEADER_LENGTH + 2, h.rxSnrDb, true);
  }
}

/**
 * The extensions of a header whose EXTENSIONS flag is set (protocol 1.3), read from bytes 56 up to the
 * header length: padding bytes (type 0) skipped, then `type u8, length u8, value`. Unknown types are
 * skipped; an RX_SNR of another length, not finite or beyond ±100 dB is ignored; the first RX_SNR counts.
 * An area that does not parse (a length running past the header) is ignored whole: the frame stays valid,
 * as it is for a 1.2 receiver, which skips these bytes.
 */
export function readExtensions(view: DataView, headerLength: number): { rxSnrDb?: number } {
  let rxSnrDb: number | undefined;
  let i = FRAME_HEADER_LENGTH;
  while (i < headerLength) {
    const type = view.getUint8(i);
    if (type === EXT_PAD) {
      i++;
      continue;
    }
    if (i + 2 > headerLength) return {};
    const length = view.getUint8(i + 1);
    if (i + 2 + length > headerLength) return {};
    if (type === EXT_RX_SNR && length === 4 && rxSnrDb === undefined) {
      const v = view.getFloat32(i + 2, true);
      if (Math.abs(v) <= RX_SNR_LIMIT_DB) rxSnrDb = v;
    }
    i += 2 + length;
  }
  return rxSnrDb === undefined ? {} : { rxSnrDb };
}

/**
 * Reads the header of a buffer already known to hold `headerLength` >= 56 bytes (extensions included, when
 * the EXTENSIONS flag is set). Only the dtype code is checked here (BAD_DTYPE); the field rules are
 * checkHeaderFields'.
 */
export function readHeader(view: DataView): FrameHeader {
  const flags = view.getUint8(3);
  const headerLength = view.getUint8(4);
  return {
    version: view.getUint8(2),
    headerLength,
    dtype: dtypeFromCode(view.getUint8(5)),
    hasKbEntry: (flags & FLAG_KB_ENTRY) !== 0,
    endOfSession: (flags & FLAG_END_OF_SESSION) !== 0,
    actionId: view.getUint16(6, true),
    deviceId: view.getUint32(8, true),
    sessionId: view.getUint32(12, true),
    frameId: view.getUint32(16, true),
    fragmentIndex: view.getUint16(20, true),
    fragmentCount: view.getUint16(22, true),
    kbVersion: view.getUint32(24, true),
    kbEntry: view.getUint32(28, true),
    totalSymbols: view.getUint32(32, true),
    symbolOffset: view.getUint32(36, true),
    scale: view.getFloat32(40, true),
    payloadLength: view.getUint32(44, true),
    timestampUs: view.getUint32(48, true) + view.getUint32(52, true) * 2 ** 32,
    ...((flags & FLAG_EXTENSIONS) !== 0 ? readExtensions(view, headerLength) : {}),
  };
}
