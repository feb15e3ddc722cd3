/**
 * Fuzzing the sdr-udp receive path with hostile input: UDP datagrams (the Depacketizer), header blocks and
 * sample streams (the Synchronizer). Properties: the depacketizer never throws, keeps the sample count
 * consistent with its counters and never fills a gap it was not allowed to (a sequence number jump of
 * 2^64 - 1 costs nothing); in-order datagrams round-trip; header blocks decode or say why; the Synchronizer
 * never throws on random, non-finite or truncated-burst samples, keeps its counters consistent, delivers
 * only frames the codec accepts, and still finds a clean burst after the garbage. 10,300 cases per CI run
 * (test/fuzz/runs.ts scales them; the Synchronizer's are costly, so they are few).
 */
import { crc32c, decodeFrame, encodeFrame, packSymbols } from '@akb/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayBufferGrowth, fuzzRuns } from '../../../test/fuzz/runs.js';
import { Depacketizer, packetize, samplesPerDatagram } from './datagrams.js';
import { HEADER_BLOCK_BYTES, PILOTS, PILOT_SPACING, PREAMBLE, burstLayout, burstSamples, decodeHeaderBlock, encodeHeaderBlock } from './format.js';
import { modulateFrame } from './modulator.js';
import { Synchronizer } from './synchronizer.js';

const options = fc.record({ header: fc.constantFrom('seq' as const, 'none' as const), payloadBytes: fc.integer({ min: 24, max: 600 }), maxGapDatagrams: fc.nat({ max: 8 }) });

function frameOf(n: number, frameId: number, values: number[]): Uint8Array {
  const v = Float32Array.from({ length: 2 * n }, (_, i) => values[i % Math.max(values.length, 1)] ?? 0.5);
  return encodeFrame(
    { dtype: 'float32', hasKbEntry: false, endOfSession: false, actionId: 3, deviceId: 7, sessionId: 1, frameId, fragmentIndex: 0, fragmentCount: 1, kbVersion: 0, kbEntry: 0, totalSymbols: n, symbolOffset: 0, scale: 1, timestampUs: 1000 },
    packSymbols(v, 'float32').payload,
  );
}

describe('Depacketizer under fuzzing', () => {
  it('random datagrams never throw, and the samples out match its counters', () => {
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 700 }),
      // A sequence number near the last one, or anywhere in 2^64, then whole samples.
      fc.tuple(fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), fc.nat({ max: 40 })).map(([seq, samples]) => {
        const d = new Uint8Array(8 + 8 * samples);
        new DataView(d.buffer).setBigUint64(0, seq, true);
        return d;
      }),
    );
    fc.assert(
      fc.property(options, fc.array(datagram, { maxLength: 30 }), (o, datagrams) => {
        const per = samplesPerDatagram(o);
        const dp = new Depacketizer(o);
        let values = 0;
        let zeros = 0;
        const growth = arrayBufferGrowth(() => {
          for (const d of datagrams) {
            const out = dp.push(d);
            for (const part of out) values += part.length;
            if (out.length === 2) zeros += out[0]!.length;
          }
        });
        const s = dp.stats;
        expect(s.datagrams).toBe(datagrams.length);
        expect(s.truncated + s.late).toBeLessThanOrEqual(datagrams.length);
        // A gap is filled with whole datagrams of zeros, never more than maxGapDatagrams at a time.
        expect(zeros).toBe(2 * per * s.missing);
        expect(s.missing).toBeLessThanOrEqual(o.maxGapDatagrams * datagrams.length);
        expect(values % 2).toBe(0);
        expect(growth).toBeLessThan(4 * 700 * datagrams.length + 2 * 4 * per * o.maxGapDatagrams * datagrams.length + (1 << 16));
      }),
      fuzzRuns(4_000),
    );
  });

  it('datagrams in order, some lost, round-trip with the losses as zeros', () => {
    fc.assert(
      fc.property(options, fc.array(fc.float({ noNaN: true }), { maxLength: 400 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 100n }), fc.array(fc.boolean(), { maxLength: 10 }), (o, raw, seq, lost) => {
        const values = Float32Array.from(raw.slice(0, raw.length - (raw.length % 2)));
        const dp = new Depacketizer({ ...o, header: 'seq', maxGapDatagrams: 64 });
        const seqOpts = { ...o, header: 'seq' as const };
        const datagrams = packetize(values, seq, seqOpts);
        const per = samplesPerDatagram(seqOpts);
        // The first and last arrive (a receiver cannot know of losses before the first or after the last).
        const isLost = (i: number): boolean => lost[i] === true && i > 0 && i < datagrams.length - 1;
        const out: number[] = [];
        datagrams.forEach((d, i) => {
          if (isLost(i)) return;
          for (const part of dp.push(d)) out.push(...part);
        });
        expect(out.length).toBe(2 * per * datagrams.length);
        datagrams.forEach((_, i) => {
          const kept = !isLost(i);
          for (let k = 0; k < 2 * per; k++) {
            const at = 2 * per * i + k;
            expect(out[at]).toBe(kept ? (values[at] ?? 0) : 0);
          }
        });
      }),
      fuzzRuns(1_500),
    );
  });
});

describe('sdr header blocks under fuzzing', () => {
  it('random and CRC-valid random blocks decode or give a reason, never throw', () => {
    const block = fc.oneof(
      fc.uint8Array({ maxLength: 100 }),
      fc.uint8Array({ minLength: 72, maxLength: 72 }).map((b) => {
        const out = new Uint8Array(HEADER_BLOCK_BYTES);
        out.set(b);
        new DataView(out.buffer).setUint32(72, crc32c(b), true);
        return out;
      }),
    );
    fc.assert(
      fc.property(block, fc.nat({ max: 1 << 20 }), (b, maxSymbols) => {
        const h = decodeHeaderBlock(b, maxSymbols);
        if ('error' in h) return;
        expect(h.symbols).toBeLessThanOrEqual(maxSymbols);
        // Re-encoded: the same block but for the bytes a reader skips (2-3 and those after the header), zeroed.
        const expected = b.slice();
        expected.fill(0, 2, 4);
        expected.fill(0, 8 + h.frameHeader.length, 72);
        new DataView(expected.buffer).setUint32(72, crc32c(expected.subarray(0, 72)), true);
        expect(encodeHeaderBlock(h)).toEqual(expected);
      }),
      fuzzRuns(4_000),
    );
  });
});

describe('Synchronizer under fuzzing', () => {
  // Random noise, spikes, NaN and infinities, and real bursts cut short or with a damaged body.
  const piece = fc.oneof(
    fc.array(fc.float(), { maxLength: 600 }).map((a) => ({ values: Float32Array.from(a) })),
    fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: 1000 }), fc.nat(), fc.float()).map(([n, frameId, cut, spike]) => {
      const burst = modulateFrame(frameOf(1 + n, frameId, [0.7, -0.3, spike]));
      const values = burst.slice(0, 2 * (cut % (burst.length / 2 + 1)));
      if (values.length > 0) values[cut % values.length] = spike;
      return { values };
    }),
  );

  it('random and damaged sample streams never throw; what it delivers decodes; a clean burst after them is found', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 4 }), fc.integer({ min: 1, max: 4 }), fc.nat({ max: 300 }), (pieces, channelTaps, frameId) => {
        const sync = new Synchronizer({ channelTaps, maxSymbols: 256 });
        const got = [];
        for (const p of pieces) got.push(...sync.push(p.values));
        // The stream goes quiet, then a clean burst: found whatever came before (after a flush).
        got.push(...sync.flush());
        const clean = frameOf(8, frameId, [0.5, -0.5]);
        const later = sync.push(Float32Array.from([...new Float32Array(2 * 300), ...modulateFrame(clean), ...new Float32Array(2 * 300)]));
        for (const b of [...got, ...later]) {
          // The rebuilt frame carries the receiver's RX_SNR (protocol 1.3) on top of the header sent.
          const { rxSnrDb: _snr, headerLength: _len, ...sent } = decodeFrame(b.frame).header;
          expect(sent).toEqual({ ...b.header, headerLength: undefined, rxSnrDb: undefined, ...sent });
          expect(b.header).toMatchObject(sent);
          expect(b.values.length).toBe(2 * b.header.totalSymbols);
        }
        expect(later.map((b) => b.header.frameId)).toContain(frameId);
        const s = sync.stats;
        expect(s.frames + s.headerFailures + s.frameFailures + s.abandoned).toBeLessThanOrEqual(s.detections);
        expect(s.frames).toBe(got.length + later.length);
      }),
      fuzzRuns(300, { endOnFailure: true }),
    );
  });

  it('bursts with forged header blocks (any claimed symbol count, any v1 header) never throw nor allocate the claim', () => {
    const forged = fc.record({
      claimed: fc.oneof(fc.nat({ max: 80 }), fc.nat({ max: 0xffffffff })),
      sent: fc.nat({ max: 80 }),
      header: fc.oneof(fc.constant(undefined), fc.uint8Array({ minLength: 56, maxLength: 64 })),
      length: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(forged, ({ claimed, sent, header, length }) => {
        const sync = new Synchronizer({ channelTaps: 1, maxSymbols: 64 });
        const real = frameOf(8, 1, [0.5]).subarray(0, 56);
        const block = new Uint8Array(HEADER_BLOCK_BYTES);
        const view = new DataView(block.buffer);
        block[0] = 1;
        block[1] = header === undefined ? 56 : length;
        view.setUint32(4, claimed, true);
        block.set(header ?? real, 8);
        view.setUint32(72, crc32c(block.subarray(0, 72)), true);
        let got: unknown[] = [];
        const growth = arrayBufferGrowth(() => {
          got = [...sync.push(forgedBurst(block, sent)), ...sync.flush()];
        });
        expect(growth).toBeLessThan(1 << 20);
        if (claimed > 64) expect(got).toEqual([]);
        expect(sync.pending).toBe(false);
      }),
      fuzzRuns(500),
    );
  });
});

/** A burst as modulator.ts lays it out, but with any header block and `symbols` data symbols of 0.5. */
function forgedBurst(block: Uint8Array, symbols: number): Float32Array {
  const layout = burstLayout();
  const out = new Float32Array(2 * (burstSamples(layout, symbols) + 200));
  let at = 0;
  for (const chip of PREAMBLE) {
    out[at] = chip;
    at += 2;
  }
  let body = 0;
  let pilot = 0;
  const put = (re: number): void => {
    if (body % PILOT_SPACING === 0) {
      out[at] = PILOTS[pilot++ % PILOTS.length]!;
      at += 2;
    }
    out[at] = re;
    at += 2;
    body++;
  };
  for (let bit = 0; bit < block.length * 8; bit++) {
    const chip = (block[bit >> 3]! >> (7 - (bit & 7))) & 1 ? 1 : -1;
    for (let c = 0; c < layout.headerSpreading; c++) put(chip);
  }
  for (let k = 0; k < symbols; k++) put(0.5);
  out[at] = PILOTS[pilot % PILOTS.length]!;
  return out;
}
