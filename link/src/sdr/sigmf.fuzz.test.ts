/**
 * Fuzzing SigMF: checkSigmfMeta on any JSON (random values, valid metadata with a field mutated, random
 * data sizes) returns a list of problems and never throws; valid metadata passes and a wrong-typed core
 * field is always reported; what SigmfRecorder writes (real files, any labels and comments, any block
 * sizes) always passes the check against its data file. 7,200 cases per CI run (test/fuzz/runs.ts scales them).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzRuns } from '../../../test/fuzz/runs.js';
import { SigmfRecorder } from '../emulator/sigmf.js';
import { checkSigmfMeta } from './sigmf-check.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const datatype = fc.oneof(
  fc.tuple(fc.constantFrom('r', 'c'), fc.constantFrom('f32', 'f64', 'i32', 'i16', 'u32', 'u16'), fc.constantFrom('_le', '_be')).map((p) => p.join('')),
  fc.tuple(fc.constantFrom('r', 'c'), fc.constantFrom('i8', 'u8')).map((p) => p.join('')),
);
const isoDate = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());

/** Metadata the specification accepts (sorted lists, core fields of the right types). */
const validMeta = fc
  .record({
    datatype,
    version: fc.constantFrom('1.0.0', '1.2.3', '1.0.0-rc.1'),
    sampleRate: fc.double({ min: 1e-3, max: 1e12, noNaN: true }),
    captures: fc.array(fc.record({ start: fc.nat({ max: 1e6 }), frequency: fc.double({ noNaN: true, noDefaultInfinity: true }), datetime: isoDate }), { maxLength: 4 }),
    annotations: fc.array(fc.record({ start: fc.nat({ max: 1e6 }), count: fc.nat({ max: 1000 }), label: fc.string({ maxLength: 10 }) }), { maxLength: 6 }),
  })
  .map(({ datatype: dt, version, sampleRate, captures, annotations }) => ({
    global: { 'core:datatype': dt, 'core:version': version, 'core:sample_rate': sampleRate, 'akb:extra': 'kept' },
    captures: captures.sort((a, b) => a.start - b.start).map((c) => ({ 'core:sample_start': c.start, 'core:frequency': c.frequency, 'core:datetime': c.datetime })),
    annotations: annotations.sort((a, b) => a.start - b.start).map((a) => ({ 'core:sample_start': a.start, 'core:sample_count': a.count, 'core:label': a.label })),
  }));

/** A value of the wrong type for each kind of core field. */
const WRONG: Record<string, Json[]> = {
  'core:datatype': [1, null, 'cf33_le', 'x'],
  'core:version': [1, [], 'one'],
  'core:sample_rate': [0, -1, '48000', null],
  'core:sample_start': [-1, 1.5, '0', null],
  'core:sample_count': [-2, 0.5, 'many'],
  'core:frequency': ['2.4e9', null, {}],
  'core:datetime': ['yesterday', 0, '2020-01-01'],
  'core:label': [1, null, ['a']],
};

function problems(meta: unknown, dataBytes?: number): string[] {
  const out = checkSigmfMeta(meta, dataBytes);
  expect(Array.isArray(out)).toBe(true);
  for (const p of out) expect(typeof p).toBe('string');
  return out;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('checkSigmfMeta under fuzzing', () => {
  it('random JSON and random values never make it throw', () => {
    const anything = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({ global: fc.jsonValue({ maxDepth: 2 }), captures: fc.jsonValue({ maxDepth: 3 }), annotations: fc.jsonValue({ maxDepth: 3 }) }),
      fc.anything({ withNullPrototype: true, withBigInt: true, withSparseArray: true, withTypedArray: true }),
      fc.record({ global: fc.dictionary(fc.constantFrom('core:datatype', 'core:version', 'core:num_channels', 'core:sample_rate', 'x'), fc.anything({ withBigInt: true })), captures: fc.constant([]), annotations: fc.constant([]) }),
    );
    fc.assert(
      fc.property(anything, fc.option(fc.oneof(fc.nat(), fc.double()), { nil: undefined }), (meta, dataBytes) => {
        problems(meta, dataBytes);
        let text: string | undefined;
        try {
          text = JSON.stringify(meta);
        } catch {
          return; // a BigInt or a cycle: no JSON text to parse
        }
        problems(JSON.parse(text ?? 'null'), dataBytes);
      }),
      fuzzRuns(4_000),
    );
  });

  it('valid metadata passes, with any data size of whole samples covering its annotations', () => {
    fc.assert(
      fc.property(validMeta, fc.nat({ max: 100 }), (meta, extra) => {
        expect(problems(meta)).toEqual([]);
        const end = Math.max(0, ...meta.annotations.map((a) => a['core:sample_start'] + a['core:sample_count']));
        const dt = meta.global['core:datatype'];
        const width = dt.includes('64') ? 8 : dt.includes('32') ? 4 : dt.includes('16') ? 2 : 1;
        const sampleBytes = (dt.startsWith('c') ? 2 : 1) * width;
        expect(problems(meta, (end + extra) * sampleBytes)).toEqual([]);
        if (sampleBytes > 1) expect(problems(meta, (end + extra) * sampleBytes + 1).length).toBeGreaterThan(0);
      }),
      fuzzRuns(1_500),
    );
  });

  it('a core field of the wrong type is always reported', () => {
    fc.assert(
      fc.property(validMeta, fc.constantFrom(...Object.keys(WRONG)), fc.nat(), (meta, key, pick) => {
        const wrong = WRONG[key]![pick % WRONG[key]!.length]!;
        const copy = structuredClone(meta) as unknown as { global: Record<string, Json>; captures: Record<string, Json>[]; annotations: Record<string, Json>[] };
        const target = ['core:sample_start', 'core:frequency', 'core:datetime'].includes(key)
          ? copy.captures[0]
          : ['core:sample_count', 'core:label'].includes(key)
            ? copy.annotations[0]
            : copy.global;
        if (target === undefined) return;
        target[key] = wrong;
        expect(problems(copy).length).toBeGreaterThan(0);
      }),
      fuzzRuns(1_500),
    );
  });
});

describe('SigmfRecorder output under fuzzing', () => {
  it('what it writes always passes checkSigmfMeta against its data file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-sigmf-fuzz-'));
    dirs.push(dir);
    let n = 0;
    const block = fc.record({
      values: fc.nat({ max: 300 }),
      label: fc.string({ maxLength: 30, unit: 'binary' }),
      comment: fc.option(fc.oneof(fc.string({ maxLength: 40, unit: 'binary' }), fc.object({ maxDepth: 1 })), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 8 }),
        fc.option(fc.double({ min: 1e-3, max: 1e12, noNaN: true }), { nil: undefined }),
        fc.option(fc.string({ maxLength: 30, unit: 'binary' }), { nil: undefined }),
        isoDate,
        (blocks, sampleRateHz, description, startedAt) => {
          const rec = SigmfRecorder.open({ path: join(dir, `r${n++}`), sampleRateHz, description, startedAt: new Date(startedAt), flushIntervalMs: 60_000 });
          for (const b of blocks) rec.append(new Float32Array(b.values).fill(0.25), { label: b.label, comment: b.comment });
          rec.close();
          const meta: unknown = JSON.parse(readFileSync(rec.paths.meta, 'utf8'));
          expect(problems(meta, statSync(rec.paths.data).size)).toEqual([]);
          rmSync(rec.paths.data);
          rmSync(rec.paths.meta);
        },
      ),
      fuzzRuns(200),
    );
  });
});
