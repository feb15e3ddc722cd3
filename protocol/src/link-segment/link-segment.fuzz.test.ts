/**
 * Property tests of the compact link profile (fast-check): any frame at any MTU from 16 to 1500 comes back
 * whole through shuffled and duplicated segments; hostile bytes never make the receiver throw; every
 * single-bit error is caught by the CRC; segments of two frames never mix; frames claiming 65,536 segments
 * hold no more than the receiver's bounds. 45,500 cases per CI run (the
 * fuzzRuns bases below, scaled by AKB_FUZZ_SCALE: test/fuzz/runs.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayBufferGrowth, fuzzRuns } from '../../../test/fuzz/runs.js';
import { ProtocolError } from '../errors.js';
import { Desegmenter } from './desegmenter.js';
import { decodeSegment, segmentFrame } from './segment.js';

const frameArb = fc.uint8Array({ minLength: 0, maxLength: 6000 });
const mtuArb = fc.integer({ min: 16, max: 1500 });
const seqArb = fc.integer({ min: 0, max: 0xffff });

/** Packets in a shuffled order (a permutation from `keys`), some repeated (`dups` indices into the list). */
function scramble(packets: Uint8Array[], keys: number[], dups: number[]): Uint8Array[] {
  const order = packets.map((p, i) => ({ p, k: keys[i % keys.length]! + i / packets.length })).sort((a, b) => a.k - b.k).map((x) => x.p);
  for (const d of dups) order.splice(d % (order.length + 1), 0, packets[d % packets.length]!);
  return order;
}

describe('link-segment properties', () => {
  it('any frame at any MTU 16..1500 round-trips through shuffled and duplicated segments', () => {
    fc.assert(
      fc.property(frameArb, mtuArb, seqArb, fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }), fc.array(fc.nat(), { maxLength: 8 }), (frame, mtu, seq, keys, dups) => {
        const packets = segmentFrame(frame, { mtu, seq });
        for (const p of packets) expect(p.length).toBeLessThanOrEqual(mtu);
        const d = new Desegmenter({ maxFrameBytes: 6000, maxPending: 2, timeoutMs: 1000, now: () => 0 });
        const frames = scramble(packets, keys, dups).flatMap((p) => {
          const r = d.push(p);
          expect(r.error).toBeUndefined();
          return r.frame ? [r.frame] : [];
        });
        expect(frames).toEqual([frame]);
        expect(d.stats.pending).toBe(0);
      }),
      fuzzRuns(300),
    );
  });

  it('two frames with different seqs, their segments interleaved at random, come back unmixed', () => {
    fc.assert(
      fc.property(frameArb, frameArb, mtuArb, seqArb, fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }), (a, b, mtu, seq, keys) => {
        const pa = segmentFrame(a, { mtu, seq });
        const pb = segmentFrame(b, { mtu, seq: (seq + 1) & 0xffff });
        const d = new Desegmenter({ maxFrameBytes: 6000, maxPending: 2, timeoutMs: 1000, now: () => 0 });
        const got = scramble([...pa, ...pb], keys, []).flatMap((p) => [d.push(p).frame].filter((f) => f !== undefined));
        expect(got).toHaveLength(2);
        expect(got).toContainEqual(a);
        expect(got).toContainEqual(b);
      }),
      fuzzRuns(200),
    );
  });

  it('random bytes never make decodeSegment throw anything but a ProtocolError, nor push throw at all', () => {
    const d = new Desegmenter({ maxFrameBytes: 4096, maxPending: 8, timeoutMs: 50, now: () => 0 });
    const params = fuzzRuns(20_000);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        try {
          decodeSegment(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
        const r = d.push(bytes);
        if (r.error) expect(r.error).toBeInstanceOf(ProtocolError);
        expect(r.error?.cause).toBeUndefined();
      }),
      params,
    );
    expect(d.stats.packets).toBeGreaterThanOrEqual(params.numRuns ?? 0);
  });

  it('valid-CRC packets with random headers never make push throw, and memory stays within maxPending', () => {
    // Random fields, then a real CRC, so the checks past the CRC and the reassembly logic are what is fuzzed.
    const d = new Desegmenter({ maxFrameBytes: 2000, maxPending: 3, timeoutMs: 10, now: () => 0 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.uint8Array({ maxLength: 60 }), fc.boolean(), (seq, index, last, payload, wide) => {
        const packet = forge(seq, index, last, payload, wide);
        const r = d.push(packet);
        if (r.error) expect(r.error).toBeInstanceOf(ProtocolError);
        expect(r.error?.cause).toBeUndefined(); // push wraps an unexpected exception (a bug) with a cause
        expect(d.stats.pending).toBeLessThanOrEqual(3);
      }),
      fuzzRuns(20_000),
    );
  });

  it('frames claiming up to 65,536 segments hold at most maxPending frames of maxFrameBytes', () => {
    // Wide packets from a few senders claiming any segment count: what is held never exceeds the bounds.
    const packet = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff }), fc.uint8Array({ maxLength: 60 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 60 }), (packets) => {
        const d = new Desegmenter({ maxFrameBytes: 2000, maxPending: 4, timeoutMs: 10, now: () => 0 });
        const forged = packets.map(([seq, index, last, payload, wide]) => forge(seq, Math.min(index, last), last, payload, wide || last > 255));
        const growth = arrayBufferGrowth(() => {
          for (const p of forged) {
            const r = d.push(p);
            expect(r.error?.cause).toBeUndefined();
            if (r.frame) expect(r.frame.length).toBeLessThanOrEqual(2000);
          }
        });
        expect(d.stats.pending).toBeLessThanOrEqual(4);
        // Held: at most the pending frames' bytes and the segment copies of this sequence.
        expect(growth).toBeLessThan(4 * 2000 + 128 * forged.length + 65536);
      }),
      fuzzRuns(3_000),
    );
  });

  it('every single-bit error in any packet is detected', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), mtuArb, seqArb, fc.nat(), fc.nat(), (frame, mtu, seq, which, bit) => {
        const packets = segmentFrame(frame, { mtu, seq });
        const p = packets[which % packets.length]!.slice();
        const b = bit % (p.length * 8);
        p[b >> 3] = p[b >> 3]! ^ (1 << (b & 7));
        expect(() => decodeSegment(p)).toThrowError(expect.objectContaining({ code: 'CRC_MISMATCH' }) as Error);
      }),
      fuzzRuns(2000),
    );
  });
});

/** A packet with arbitrary header fields and a correct CRC-16 (big-endian). */
function forge(seq: number, index: number, last: number, payload: Uint8Array, wide: boolean): Uint8Array {
  const head = wide ? [0x11, seq & 0xff, seq >> 8, index & 0xff, index >> 8, last & 0xff, last >> 8] : [0x10, seq & 0xff, seq >> 8, index & 0xff, last & 0xff];
  const body = Uint8Array.from([...head, ...payload]);
  let c = 0xffff;
  for (const byte of body) {
    c ^= byte << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  }
  return Uint8Array.from([...body, c >> 8, c & 0xff]);
}
