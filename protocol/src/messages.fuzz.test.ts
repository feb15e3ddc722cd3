/**
 * Fuzzing of the JSON message decoder: whatever the bytes, decodeMessage returns a valid message or
 * throws a ProtocolError, nothing else. 58,300 inputs per CI run (test/fuzz/runs.ts scales them) over every kind: random bytes,
 * random JSON values and objects (with hostile keys), valid vectors with mutated fields, valid
 * vectors with mutated text, and nesting and sizes past the limits.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzRuns } from '../../test/fuzz/runs.js';
import { ProtocolError } from './errors.js';
import { decodeMessage, encodeMessage, MAX_JSON_DEPTH, validateMessage } from './messages.js';
import { MESSAGE_KINDS, type MessageKind } from './schemas/index.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const vectorsDir = fileURLToPath(new URL('../vectors/messages/', import.meta.url));
const valid: { kind: MessageKind; value: Json }[] = MESSAGE_KINDS.flatMap((kind) =>
  readdirSync(`${vectorsDir}${kind}`)
    .filter((f) => f.startsWith('valid') && f.endsWith('.json') && !f.endsWith('.decoded.json'))
    .map((f) => ({ kind, value: JSON.parse(readFileSync(`${vectorsDir}${kind}/${f}`, 'utf8')) as Json })),
);

/** Returns normally when `fn` succeeds or throws a ProtocolError; rethrows anything else. */
function decodesOrRefuses(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}

const kind = fc.constantFrom(...MESSAGE_KINDS);
const hostileKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'v', 'state', 'status', 'driver', 'scope', 'source', '', 'a'.repeat(300)),
  fc.string({ maxLength: 12 }),
);
const edgeNumberText = fc.constantFrom('1e999', '-1e999', '-0', '9007199254740993', '4294967296', '1e-400', '0.1', '123456789012345678901234567890');

/** Every path to an object field or array element of `value`. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((child, i) => [[...prefix, i], ...pathsOf(child, [...prefix, i])]);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
  }
  return [];
}

type Mutation = { op: 'set'; value: Json } | { op: 'delete' } | { op: 'add'; key: string; value: Json } | { op: 'number'; text: string };

/** Applies one mutation at one path of a deep copy; returns JSON text (numbers may be raw edge cases). */
function mutate(value: Json, pathIndex: number, mutation: Mutation): string {
  const copy = structuredClone(value);
  const paths = pathsOf(copy);
  const path = paths[pathIndex % Math.max(paths.length, 1)] ?? [];
  const marker = '"\u0000edge-number\u0000"';
  if (path.length === 0) return JSON.stringify(mutation.op === 'set' ? mutation.value : copy);
  let parent: Json = copy;
  for (const segment of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[segment] as Json;
  const last = path[path.length - 1] as string | number;
  const container = parent as Record<string | number, Json>;
  switch (mutation.op) {
    case 'set':
      container[last] = mutation.value;
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete container[last];
      break;
    case 'add':
      if (!Array.isArray(parent)) Object.defineProperty(container, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
      break;
    case 'number':
      container[last] = '\u0000edge-number\u0000';
      return JSON.stringify(copy).replace(marker, mutation.text);
  }
  return JSON.stringify(copy);
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> }),
  fc.record({ op: fc.constant('delete' as const) }),
  fc.record({ op: fc.constant('add' as const), key: hostileKey, value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }),
  fc.record({ op: fc.constant('number' as const), text: edgeNumberText }),
);

describe('decodeMessage under fuzzing', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(kind, fc.uint8Array({ maxLength: 300 }), (k, bytes) => {
        decodesOrRefuses(() => decodeMessage(k, bytes));
      }),
      fuzzRuns(14_000),
    );
  });

  it('random JSON values', () => {
    fc.assert(
      fc.property(kind, fc.jsonValue({ maxDepth: 4 }), (k, value) => {
        decodesOrRefuses(() => decodeMessage(k, JSON.stringify(value) ?? 'null'));
      }),
      fuzzRuns(14_000),
    );
  });

  it('random objects with hostile keys', () => {
    const objects = fc.object({ key: hostileKey, maxDepth: 2, maxKeys: 8, values: [fc.jsonValue({ maxDepth: 1 })] });
    fc.assert(
      fc.property(kind, objects, (k, value) => {
        decodesOrRefuses(() => decodeMessage(k, JSON.stringify(value)));
        decodesOrRefuses(() => validateMessage(k, value));
      }),
      fuzzRuns(6_000),
    );
  });

  it('valid vectors with a mutated field, and what decodes re-encodes to itself', () => {
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), mutation, ({ kind: k, value }, pathIndex, m) => {
        const decoded = decodesOrRefuses(() => decodeMessage(k, mutate(value, pathIndex, m)));
        if (decoded !== undefined) expect(decodeMessage(k, encodeMessage(k, decoded as never))).toEqual(decoded);
      }),
      fuzzRuns(15_000),
    );
  });

  it('valid vectors with mutated text', () => {
    const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 8 }), insert: fc.string({ maxLength: 4, unit: 'binary' }) });
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.array(edit, { minLength: 1, maxLength: 3 }), ({ kind: k, value }, edits) => {
        let text = JSON.stringify(value);
        for (const { at, cut, insert } of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + cut);
        }
        decodesOrRefuses(() => decodeMessage(k, text));
        decodesOrRefuses(() => decodeMessage(k, Buffer.from(text, 'latin1')));
      }),
      fuzzRuns(6_000),
    );
  });

  it('non-JSON values given to validateMessage', () => {
    fc.assert(
      fc.property(kind, fc.anything({ withMap: true, withSet: true, withBigInt: true, withDate: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true }), (k, value) => {
        decodesOrRefuses(() => validateMessage(k, value));
      }),
      fuzzRuns(3_000),
    );
  });

  it('nesting past MAX_JSON_DEPTH and text past MAX_MESSAGE_BYTES are refused with a ProtocolError', () => {
    fc.assert(
      fc.property(kind, fc.integer({ min: MAX_JSON_DEPTH + 1, max: 200_000 }), fc.constantFrom('[', '{"a":'), fc.boolean(), (k, depth, open, asBytes) => {
        const close = open === '[' ? ']' : '}';
        const text = `${open.repeat(depth)}1${close.repeat(depth)}`;
        let thrown: unknown;
        try {
          decodeMessage(k, asBytes ? Buffer.from(text) : text);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(ProtocolError);
        expect(['BAD_JSON', 'TOO_LARGE']).toContain((thrown as ProtocolError).code);
      }),
      fuzzRuns(300),
    );
  });
});
