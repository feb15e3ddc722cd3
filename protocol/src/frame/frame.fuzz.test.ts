/**
 * Fuzzing the frame decoder, symbol unpacking and the reassembler with hostile input: 100,000 generated
 * cases per CI run (the fuzzRuns bases below, scaled by AKB_FUZZ_SCALE: test/fuzz/runs.ts; each reassembler
 * case pushes up to 10 inputs). The property everywhere: a value comes back or a ProtocolError is thrown,
 * never anything else (no RangeError, no TypeError); and valid frames always round-trip. The 1.3 header
 * extensions and claimed sizes: extensions.fuzz.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzRuns } from '../../../test/fuzz/runs.js';
import { ProtocolError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { decodeFrame, encodeFrame, type DecodedFrame } from './codec.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';
import { SYMBOL_DTYPES, type FrameHeaderInit, type SymbolDtype } from './header.js';
import { Reassembler } from './reassembler.js';
import { packSymbols, unpackSymbols } from './symbols.js';

/** Runs `fn`; a ProtocolError counts as a fine outcome, anything else thrown fails the property. */
function tolerate<T>(fn: () => T): T | ProtocolError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
}

interface ValidFrame {
  readonly header: FrameHeaderInit;
  readonly values: Float32Array;
  readonly payload: Uint8Array;
  readonly bytes: Uint8Array;
}

const u32 = fc.nat({ max: 0xffffffff });
const u16 = fc.nat({ max: 0xffff });

/** Any frame a correct sender may write, with values packed as its dtype says. */
const validFrame: fc.Arbitrary<ValidFrame> = fc
  .record({
    dtype: fc.constantFrom<SymbolDtype>(...SYMBOL_DTYPES),
    raw: fc.array(fc.float(), { maxLength: 24 }),
    extraSymbols: fc.nat({ max: 40 }),
    offsetPick: fc.nat(),
    fragmentCount: fc.integer({ min: 1, max: 0xffff }),
    indexPick: fc.nat(),
    headerLength: fc.oneof({ weight: 4, arbitrary: fc.constant(56) }, { weight: 1, arbitrary: fc.integer({ min: 56, max: 255 }) }),
    ids: fc.tuple(u16, u32, u32, u32, u32, u32),
    flags: fc.tuple(fc.boolean(), fc.boolean()),
    timestampUs: fc.maxSafeNat(),
  })
  .map(({ dtype, raw, extraSymbols, offsetPick, fragmentCount, indexPick, headerLength, ids, flags, timestampUs }) => {
    const values = Float32Array.from(raw.slice(0, raw.length - (raw.length % 2)), (v) => (dtype === 'int8' && !Number.isFinite(v) ? 0 : v));
    const { payload, scale } = packSymbols(values, dtype);
    const [actionId, deviceId, sessionId, frameId, kbVersion, kbEntry] = ids;
    const header: FrameHeaderInit = {
      dtype, actionId, deviceId, sessionId, frameId, kbVersion, kbEntry, scale, timestampUs, headerLength, fragmentCount,
      fragmentIndex: indexPick % fragmentCount,
      totalSymbols: values.length / 2 + extraSymbols,
      symbolOffset: offsetPick % (extraSymbols + 1),
      hasKbEntry: flags[0],
      endOfSession: flags[1],
    };
    return { header, values, payload, bytes: encodeFrame(header, payload) };
  });

type Mutation = { kind: 'set'; at: number; value: number } | { kind: 'truncate'; at: number } | { kind: 'extend'; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
);

function mutate(bytes: Uint8Array, mutations: readonly Mutation[], headerOnly: boolean): Uint8Array {
  let out = bytes.slice();
  for (const m of mutations) {
    if (m.kind === 'set' && out.length > 0) out[m.at % (headerOnly ? Math.min(out.length, 64) : out.length)] = m.value;
    else if (m.kind === 'truncate') out = out.slice(0, m.at % (out.length + 1));
    else if (m.kind === 'extend') out = Uint8Array.from([...out, ...m.bytes]);
  }
  return out;
}

/** Recomputes the CRC where the header says it sits, so the checks after the CRC are reached. */
function fixCrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 56) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const end = view.getUint8(4) + view.getUint32(44, true);
  if (end + 4 === bytes.length) view.setUint32(end, crc32c(bytes.subarray(0, end)), true);
  return bytes;
}

function checkDecodeOutcome(bytes: Uint8Array): void {
  const result = tolerate(() => decodeFrame(bytes));
  if (result instanceof ProtocolError) return;
  // Whatever decodes re-encodes to a frame that decodes to the same header and payload.
  const again = decodeFrame(encodeFrame(result.header, result.payload));
  expect(again.header).toEqual(result.header);
  expect(again.payload).toEqual(result.payload);
  expect(tolerate(() => unpackSymbols(result.payload, result.header.dtype, result.header.scale))).toBeInstanceOf(Float32Array);
}

describe('frame fuzz', () => {
  it('decodeFrame on random bytes', () => {
    const prefixed = fc.tuple(fc.constantFrom([], [0x41], [0x41, 0x4b], [0x41, 0x4b, 1]), fc.uint8Array({ maxLength: 120 }));
    fc.assert(
      fc.property(prefixed, ([prefix, rest]) => checkDecodeOutcome(Uint8Array.from([...prefix, ...rest]))),
      fuzzRuns(20_000),
    );
  });

  it('decodeFrame on valid frames with mutated, truncated and extended bytes', () => {
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        checkDecodeOutcome(mutate(frame.bytes, mutations, false));
      }),
      fuzzRuns(25_000),
    );
  });

  it('decodeFrame on valid-CRC frames with mutated header fields', () => {
    let accepted = 0;
    const codes = new Set<string>();
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { minLength: 1, maxLength: 3 }), (frame, mutations) => {
        const bytes = fixCrc(mutate(frame.bytes, mutations, true));
        const result = tolerate(() => decodeFrame(bytes));
        if (result instanceof ProtocolError) codes.add(result.code);
        else accepted++;
        checkDecodeOutcome(bytes);
      }),
      fuzzRuns(25_000),
    );
    // The field checks behind the CRC were reached, not just the CRC.
    for (const code of ['BAD_DTYPE', 'BAD_FRAGMENT', 'BAD_HEADER', 'BAD_LENGTH', 'TRUNCATED', 'TOO_LARGE']) expect(codes).toContain(code);
    expect(accepted).toBeGreaterThan(0);
  });

  it('valid frames round-trip', () => {
    fc.assert(
      fc.property(validFrame, ({ header, values, payload, bytes }) => {
        const decoded = decodeFrame(bytes);
        const { headerLength = 56, ...rest } = header;
        expect(decoded.header).toEqual({ ...rest, version: 1, headerLength, payloadLength: payload.length });
        expect(decoded.payload).toEqual(payload);
        const back = unpackSymbols(decoded.payload, decoded.header.dtype, decoded.header.scale);
        if (header.dtype === 'float32') expect(back).toEqual(values);
        if (header.dtype === 'float16') expect(back).toEqual(values.map((v) => float16BitsToFloat32(float32ToFloat16Bits(v))));
        if (header.dtype === 'int8') back.forEach((v, i) => expect(Math.abs(v - values[i]!)).toBeLessThanOrEqual(header.scale * 0.5000001 + 1e-45));
      }),
      fuzzRuns(10_000),
    );
  });

  it('unpackSymbols on random payloads, dtypes and scales', () => {
    const dtype = fc.oneof(fc.constantFrom<string>(...SYMBOL_DTYPES), fc.string({ maxLength: 8 }));
    const scale = fc.oneof(fc.double(), fc.float(), fc.constantFrom(0, -0, NaN, Infinity, 1));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), dtype, scale, (payload, d, s) => {
        const result = tolerate(() => unpackSymbols(payload, d as SymbolDtype, s));
        if (!(result instanceof ProtocolError)) expect(result.length).toBe(payload.length / { float32: 4, float16: 2, int8: 1 }[d as SymbolDtype]);
      }),
      fuzzRuns(10_000),
    );
  });

  it('Reassembler.push on sequences of valid, mutated and random inputs', () => {
    type Step =
      | { kind: 'frame'; frame: ValidFrame; mutations: Mutation[]; asObject: boolean }
      | { kind: 'bytes'; bytes: Uint8Array }
      | { kind: 'tick'; ms: number };
    // Few distinct ids, so fragments collide into the same frames and exercise consistency checks.
    const collidingFrame = validFrame.map((f) => {
      const header = { ...f.header, deviceId: f.header.deviceId % 2, sessionId: 1, frameId: f.header.frameId % 3, fragmentCount: 1 + (f.header.fragmentCount % 4) };
      const fixed = { ...header, fragmentIndex: header.fragmentIndex % header.fragmentCount };
      return { ...f, header: fixed, bytes: encodeFrame(fixed, f.payload) };
    });
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('frame' as const), frame: collidingFrame, mutations: fc.array(mutation, { maxLength: 1 }), asObject: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 80 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat({ max: 200 }) }) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 10 }), fc.integer({ min: 1, max: 3 }), (steps, maxPendingFrames) => {
        let t = 0;
        const r = new Reassembler({ timeoutMs: 100, maxPendingFrames, maxTotalSymbols: 48, now: () => t });
        const delivered = [];
        for (const s of steps) {
          if (s.kind === 'tick') {
            t += s.ms;
            delivered.push(...r.expire());
            continue;
          }
          const input: Uint8Array | DecodedFrame =
            s.kind === 'bytes' ? s.bytes
            : s.asObject ? { header: { ...decodeFrame(s.frame.bytes).header }, payload: s.frame.payload }
            : mutate(s.frame.bytes, s.mutations, false);
          const result = tolerate(() => r.push(input));
          if (result !== undefined && !(result instanceof ProtocolError)) delivered.push(result);
        }
        delivered.push(...r.flush());
        for (const f of delivered) {
          expect(f.values.length).toBe(2 * f.header.totalSymbols);
          expect(f.received.length).toBe(f.header.totalSymbols);
          expect(f.complete).toBe(f.missingFragments.length === 0);
        }
        expect(r.stats.pending).toBe(0);
      }),
      fuzzRuns(10_000),
    );
  });
});
