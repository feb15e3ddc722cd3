import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { decodeFrame, encodeFrame } from './codec.js';
import { fragmentSymbols, symbolsPerFragment, type FrameMeta } from './fragment.js';
import { SYMBOL_DTYPES, type SymbolDtype } from './header.js';
import { unpackSymbols } from './symbols.js';
import { Reassembler, type ReassembledFrame, type ReassemblerOptions } from './reassembler.js';

const META: FrameMeta = { deviceId: 17, sessionId: 99, frameId: 5, actionId: 2, kbVersion: 4, kbEntry: 11, timestampUs: 1_767_225_600_000_000 };

/** Deterministic shuffle (mulberry32), so a failure is reproducible. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const ramp = (symbols: number): Float32Array => Float32Array.from({ length: 2 * symbols }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 5)));

/** What each symbol should read after the link: its fragment's own pack/unpack. */
function expectedValues(fragments: Uint8Array[]): Float32Array[] {
  return fragments.map((f) => {
    const { header, payload } = decodeFrame(f);
    return unpackSymbols(payload, header.dtype, header.scale);
  });
}

function make(options: Partial<ReassemblerOptions> = {}): { r: Reassembler; clock: { t: number } } {
  const clock = { t: 1000 };
  const r = new Reassembler({ timeoutMs: 100, maxPendingFrames: 8, maxTotalSymbols: 100_000, now: () => clock.t, ...options });
  return { r, clock };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return 'no error';
}

/** Checks erasures: received and values match exactly the fragments that were pushed. */
function checkErasures(frame: ReassembledFrame, fragments: Uint8Array[], kept: ReadonlySet<number>, perFragment: number): void {
  const expected = expectedValues(fragments);
  const total = frame.header.totalSymbols;
  const wantReceived = new Uint8Array(total);
  const wantValues = new Float32Array(2 * total);
  expected.forEach((vals, index) => {
    if (!kept.has(index)) return;
    wantReceived.fill(1, index * perFragment, index * perFragment + vals.length / 2);
    wantValues.set(vals, 2 * index * perFragment);
  });
  expect(frame.received).toEqual(wantReceived);
  expect(frame.values).toEqual(wantValues);
  expect(frame.missingFragments).toEqual(fragments.map((_, i) => i).filter((i) => !kept.has(i)));
  expect(frame.complete).toBe(kept.size === fragments.length);
}

describe('fragmentSymbols', () => {
  it.each([76, 100, 576, 1500])('keeps every fragment within an MTU of %d bytes', (mtu) => {
    for (const dtype of SYMBOL_DTYPES) {
      const fragments = fragmentSymbols(META, ramp(1000), { mtu, dtype });
      expect(fragments.every((f) => f.length <= mtu)).toBe(true);
      expect(fragments.length).toBe(Math.ceil(1000 / symbolsPerFragment(mtu, dtype)));
      const headers = fragments.map((f) => decodeFrame(f).header);
      expect(headers.map((h) => h.fragmentIndex)).toEqual(headers.map((_, i) => i));
      expect(headers.every((h) => h.hasKbEntry && h.kbEntry === 11 && h.totalSymbols === 1000)).toBe(true);
    }
  });

  it('gives one empty fragment for no symbols', () => {
    const [only, ...rest] = fragmentSymbols({ ...META, kbEntry: undefined, endOfSession: true }, new Float32Array(0), { mtu: 68, dtype: 'float32' });
    expect(rest).toEqual([]);
    expect(decodeFrame(only!).header).toMatchObject({ totalSymbols: 0, payloadLength: 0, hasKbEntry: false, endOfSession: true });
  });

  it('refuses an MTU too small for one symbol, too many fragments and odd value counts', () => {
    expect(codeOf(() => fragmentSymbols(META, ramp(4), { mtu: 67, dtype: 'float32' }))).toBe('TOO_LARGE');
    expect(codeOf(() => fragmentSymbols(META, ramp(4), { mtu: NaN, dtype: 'int8' }))).toBe('TOO_LARGE');
    expect(fragmentSymbols(META, ramp(4), { mtu: 68, dtype: 'float32' })).toHaveLength(4);
    expect(codeOf(() => fragmentSymbols(META, ramp(70_000), { mtu: 62, dtype: 'int8' }))).toBe('TOO_LARGE');
    expect(codeOf(() => fragmentSymbols(META, new Float32Array(3), { mtu: 1500, dtype: 'int8' }))).toBe('BAD_LENGTH');
  });
});

describe('Reassembler', () => {
  it.each(SYMBOL_DTYPES.flatMap((dtype) => [76, 333, 1500].map((mtu) => [dtype, mtu] as const)))(
    'reassembles %s fragments at MTU %d pushed in shuffled order',
    (dtype, mtu) => {
      const fragments = fragmentSymbols(META, ramp(777), { mtu, dtype });
      const { r } = make();
      const results = shuffle(fragments, mtu).map((f) => r.push(f));
      expect(results.slice(0, -1).every((x) => x === undefined)).toBe(true);
      const frame = results.at(-1)!;
      checkErasures(frame, fragments, new Set(fragments.keys()), symbolsPerFragment(mtu, dtype));
      expect(frame.reason).toBe('complete');
      expect(frame.header).toMatchObject({ deviceId: 17, sessionId: 99, frameId: 5, kbEntry: 11, totalSymbols: 777, dtype });
      expect(r.stats).toMatchObject({ fragments: fragments.length, completed: 1, pending: 0 });
    },
  );

  it('delivers a frame with dropped fragments at its deadline, erased at exactly their symbols', () => {
    const fragments = fragmentSymbols(META, ramp(500), { mtu: 200, dtype: 'float16' });
    const kept = new Set(fragments.keys());
    kept.delete(1);
    kept.delete(4);
    kept.delete(fragments.length - 1);
    const { r, clock } = make();
    for (const i of shuffle([...kept], 7)) expect(r.push(fragments[i]!)).toBeUndefined();
    clock.t += 99;
    expect(r.expire()).toEqual([]);
    clock.t += 1;
    const [frame, ...more] = r.expire();
    expect(more).toEqual([]);
    checkErasures(frame!, fragments, kept, symbolsPerFragment(200, 'float16'));
    expect(frame!.reason).toBe('timeout');
    expect(r.stats).toMatchObject({ timedOut: 1, pending: 0 });
    expect(r.push(fragments[1]!)).toBeUndefined();
    expect(r.stats.late).toBe(1);
  });

  it('ignores and counts duplicates', () => {
    const fragments = fragmentSymbols(META, ramp(40), { mtu: 80, dtype: 'int8' });
    expect(fragments.length).toBe(4);
    const { r } = make();
    r.push(fragments[0]!);
    expect(r.push(fragments[0]!)).toBeUndefined();
    expect(r.push(decodeFrame(fragments[0]!))).toBeUndefined();
    const frame = fragments.slice(1).map((f) => r.push(f)).at(-1);
    expect(frame?.complete).toBe(true);
    expect(r.stats).toMatchObject({ duplicates: 2, completed: 1 });
  });

  it('refuses inconsistent fragments without damaging the frame', () => {
    const fragments = fragmentSymbols(META, ramp(60), { mtu: 200, dtype: 'float32' });
    const { r } = make();
    r.push(fragments[0]!);
    const { header, payload } = decodeFrame(fragments[1]!);
    const variants = [
      { kbVersion: 5 }, { actionId: 3 }, { kbEntry: 12 }, { hasKbEntry: false }, { fragmentCount: header.fragmentCount + 1 },
      { totalSymbols: 61 }, { symbolOffset: header.symbolOffset - 1 },
    ];
    for (const change of variants) expect(codeOf(() => r.push(encodeFrame({ ...header, ...change }, payload)))).toBe('INCONSISTENT_FRAGMENT');
    const asInt8 = encodeFrame({ ...header, dtype: 'int8', scale: 0.5 }, payload.subarray(0, 2 * (header.payloadLength / 8)));
    expect(codeOf(() => r.push(asInt8))).toBe('INCONSISTENT_FRAGMENT');
    const zeroMoved = decodeFrame(fragments[0]!);
    expect(codeOf(() => r.push(encodeFrame({ ...zeroMoved.header, symbolOffset: 1 }, zeroMoved.payload)))).toBe('INCONSISTENT_FRAGMENT');
    expect(r.stats.inconsistent).toBe(variants.length + 2);
    const frame = fragments.slice(1).map((f) => r.push(f)).at(-1)!;
    checkErasures(frame, fragments, new Set(fragments.keys()), symbolsPerFragment(200, 'float32'));
  });

  it('keys frames by device, session and frame id', () => {
    const { r } = make();
    const a = fragmentSymbols(META, ramp(20), { mtu: 80, dtype: 'int8' });
    const b = fragmentSymbols({ ...META, deviceId: 18 }, ramp(20), { mtu: 80, dtype: 'int8' });
    const c = fragmentSymbols({ ...META, sessionId: 100 }, ramp(20), { mtu: 80, dtype: 'int8' });
    for (const f of [a[0]!, b[0]!, c[0]!]) r.push(f);
    expect(r.stats.pending).toBe(3);
    expect(r.push(a[1]!)?.header.deviceId).toBe(17);
  });

  it('evicts the oldest frame when full and returns it with erasures from the next expire()', () => {
    const { r } = make({ maxPendingFrames: 2 });
    const frames = [1, 2, 3].map((frameId) => fragmentSymbols({ ...META, frameId }, ramp(40), { mtu: 80, dtype: 'int8' }));
    for (const f of frames) r.push(f[0]!);
    expect(r.stats).toMatchObject({ evicted: 1, pending: 2 });
    const [evicted, ...rest] = r.expire();
    expect(rest).toEqual([]);
    expect(evicted).toMatchObject({ reason: 'evicted', complete: false, header: { frameId: 1 } });
    checkErasures(evicted!, frames[0]!, new Set([0]), symbolsPerFragment(80, 'int8'));
    expect(r.push(frames[0]![1]!)).toBeUndefined();
    expect(r.stats.late).toBe(1);
  });

  it('flushes everything pending', () => {
    const { r } = make();
    for (const frameId of [1, 2]) r.push(fragmentSymbols({ ...META, frameId }, ramp(40), { mtu: 80, dtype: 'int8' })[0]!);
    expect(r.flush().map((f) => [f.header.frameId, f.reason])).toEqual([[1, 'flushed'], [2, 'flushed']]);
    expect(r.stats).toMatchObject({ flushed: 2, pending: 0 });
    expect(r.flush()).toEqual([]);
  });

  it('refuses frames larger than maxTotalSymbols, and bad input, with ProtocolError', () => {
    const { r } = make({ maxTotalSymbols: 100 });
    expect(codeOf(() => r.push(fragmentSymbols(META, ramp(101), { mtu: 200, dtype: 'int8' })[0]!))).toBe('TOO_LARGE');
    expect(codeOf(() => r.push(new Uint8Array(10)))).toBe('BAD_MAGIC');
    const good = decodeFrame(fragmentSymbols(META, ramp(10), { mtu: 200, dtype: 'int8' })[0]!);
    expect(codeOf(() => r.push({ header: good.header, payload: new Uint8Array(3) }))).toBe('BAD_LENGTH');
    expect(codeOf(() => r.push({ header: { ...good.header, fragmentIndex: 0.5 }, payload: good.payload }))).toBe('BAD_HEADER');
    expect(r.stats).toMatchObject({ rejected: 4, pending: 0 });
  });

  it('completes an empty frame at once, ORs end-of-session and keeps the earliest timestamp', () => {
    const { r } = make();
    expect(r.push(fragmentSymbols(META, new Float32Array(0), { mtu: 100, dtype: 'float16' })[0]!)?.complete).toBe(true);
    const fragments = fragmentSymbols({ ...META, frameId: 6 }, ramp(20), { mtu: 100, dtype: 'float16' });
    const last = decodeFrame(fragments.at(-1)!);
    fragments[fragments.length - 1] = encodeFrame({ ...last.header, endOfSession: true, timestampUs: 5 }, last.payload);
    const frame = fragments.map((f) => r.push(f)).at(-1);
    expect(frame?.header).toMatchObject({ endOfSession: true, timestampUs: 5 });
  });

  it('gives erasures exactly where fragments were dropped, whatever the order, MTU and duplicates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 400 }),
        fc.constantFrom<SymbolDtype>(...SYMBOL_DTYPES),
        fc.integer({ min: 62, max: 900 }),
        fc.integer(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (symbols, dtype, mtu, seed, dropRate) => {
          fc.pre(symbolsPerFragment(mtu, dtype) >= 1);
          const fragments = fragmentSymbols(META, ramp(symbols), { mtu, dtype });
          const order = shuffle([...fragments.keys(), ...fragments.keys()].slice(0, fragments.length + (seed & 7)), seed);
          const kept = new Set(order.filter((i) => ((i * 2654435761 + seed) >>> 0) / 2 ** 32 >= dropRate));
          const { r } = make();
          let frame: ReassembledFrame | undefined;
          for (const i of order) if (kept.has(i)) frame = r.push(fragments[i]!) ?? frame;
          frame ??= r.flush()[0];
          if (kept.size === 0) {
            expect(frame).toBeUndefined(); // nothing arrived: the receiver never knew of the frame
            return;
          }
          checkErasures(frame!, fragments, kept, symbolsPerFragment(mtu, dtype));
        },
      ),
      { numRuns: 150 },
    );
  });
});
