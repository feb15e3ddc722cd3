/**
 * Protocol 1.3 header extensions: the RX_SNR a receiver writes into a frame it re-publishes (an SDR
 * gateway), what senders may not write, and how the reassembler combines it over fragments.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { decodeFrame, encodeFrame, peekFrameHeader } from './codec.js';
import { fragmentSymbols } from './fragment.js';
import type { FrameHeaderInit } from './header.js';
import { Reassembler } from './reassembler.js';

const HEADER: FrameHeaderInit = {
  dtype: 'float32', hasKbEntry: false, endOfSession: false, actionId: 1, deviceId: 9, sessionId: 2, frameId: 3,
  fragmentIndex: 0, fragmentCount: 1, kbVersion: 0, kbEntry: 0, totalSymbols: 2, symbolOffset: 0, scale: 1, timestampUs: 1000,
};
const PAYLOAD = new Uint8Array(new Float32Array([1, 0, 0, 1]).buffer);

describe('RX_SNR header extension', () => {
  it('is written as flag bit 2, a 64-byte header, type 1, length 4 and the f32, and read back', () => {
    const bytes = encodeFrame({ ...HEADER, rxSnrDb: 4.5 }, PAYLOAD);
    expect(bytes.length).toBe(64 + 16 + 4);
    expect(bytes[3]).toBe(0x04);
    expect(bytes[4]).toBe(64);
    expect([...bytes.subarray(56, 58)]).toEqual([1, 4]);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getFloat32(58, true)).toBe(4.5);
    expect([...bytes.subarray(62, 64)]).toEqual([0, 0]);
    const { header, payload } = decodeFrame(bytes);
    expect(header.rxSnrDb).toBe(4.5);
    expect([...payload]).toEqual([...PAYLOAD]);
    expect(peekFrameHeader(bytes).rxSnrDb).toBe(4.5);
  });

  it('keeps the value as a float32 (the wire type)', () => {
    expect(decodeFrame(encodeFrame({ ...HEADER, rxSnrDb: 0.1 }, PAYLOAD)).header.rxSnrDb).toBe(Math.fround(0.1));
  });

  it('is absent from frames without it, and a 56-byte header stays 56', () => {
    const bytes = encodeFrame(HEADER, PAYLOAD);
    expect(bytes[3]).toBe(0);
    expect(bytes[4]).toBe(56);
    expect('rxSnrDb' in decodeFrame(bytes).header).toBe(false);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['150 dB', 150],
    ['-101 dB', -101],
  ])('refuses a sender RX_SNR of %s with BAD_HEADER', (_name, rxSnrDb) => {
    expect(() => encodeFrame({ ...HEADER, rxSnrDb }, PAYLOAD)).toThrow(expect.objectContaining({ code: 'BAD_HEADER' }) as Error);
  });

  it('refuses a header length with no room for it', () => {
    let thrown: unknown;
    try {
      encodeFrame({ ...HEADER, rxSnrDb: 3, headerLength: 60 }, PAYLOAD);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as ProtocolError).code).toBe('BAD_HEADER');
    // 62 is enough: the extension fills it exactly.
    expect(decodeFrame(encodeFrame({ ...HEADER, rxSnrDb: 3, headerLength: 62 }, PAYLOAD)).header.rxSnrDb).toBe(3);
  });
});

describe('Reassembler and RX_SNR', () => {
  const values = new Float32Array(40).map((_, i) => (i % 7) / 7 - 0.5);
  const meta = { deviceId: 9, sessionId: 2, frameId: 5, actionId: 1, kbVersion: 0, timestampUs: 1000 };

  /** The fragments re-encoded as a gateway would, each with its own measured SNR. */
  function withSnr(snrs: (number | undefined)[]): Uint8Array[] {
    return fragmentSymbols(meta, values, { mtu: 60 + 5 * 8, dtype: 'float32' }).map((bytes, i) => {
      // The decoded header says 56 bytes: a re-encoder drops that so the default (64 with RX_SNR) applies.
      const { header: { headerLength: _, ...header }, payload } = decodeFrame(bytes);
      const s = snrs[i];
      return encodeFrame({ ...header, ...(s === undefined ? {} : { rxSnrDb: s }) }, payload);
    });
  }

  it('averages the noise variance over the fragments, weighted by symbols', () => {
    const frags = withSnr([10, 0, 10, 0]);
    expect(frags).toHaveLength(4);
    const r = new Reassembler({ timeoutMs: 1000, maxPendingFrames: 4, maxTotalSymbols: 1000 });
    let out;
    for (const f of frags) out = r.push(f) ?? out;
    // Equal fragments: mean of 0.1 and 1 = 0.55 → 2.596 dB.
    expect(out?.header.rxSnrDb).toBeCloseTo(-10 * Math.log10(0.55), 5);
  });

  it('uses the fragments that carry it, and reports none when none did', () => {
    const r = new Reassembler({ timeoutMs: 1000, maxPendingFrames: 4, maxTotalSymbols: 1000 });
    let out;
    for (const f of withSnr([6, undefined, undefined, undefined])) out = r.push(f) ?? out;
    expect(out?.header.rxSnrDb).toBeCloseTo(6, 5);
    const plain = new Reassembler({ timeoutMs: 1000, maxPendingFrames: 4, maxTotalSymbols: 1000 });
    let bare;
    for (const f of withSnr([])) bare = plain.push(f) ?? bare;
    expect(bare?.complete).toBe(true);
    expect(bare !== undefined && 'rxSnrDb' in bare.header).toBe(false);
  });

  it('leaves erased fragments out of the estimate', () => {
    const frags = withSnr([3, 20, 3, 3]);
    const r = new Reassembler({ timeoutMs: 0, maxPendingFrames: 4, maxTotalSymbols: 1000, now: () => 0 });
    for (const f of [frags[0]!, frags[2]!, frags[3]!]) r.push(f);
    const [late] = r.expire(1);
    expect(late?.complete).toBe(false);
    expect(late?.header.rxSnrDb).toBeCloseTo(3, 5);
  });
});
