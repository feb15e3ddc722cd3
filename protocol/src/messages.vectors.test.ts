/**
 * The golden message vectors under protocol/vectors/messages/<kind>/: every `valid-*.json` decodes (and,
 * when a sibling `.decoded.json` exists, to exactly that value, defaults applied) and passes the
 * generated JSON Schema; every `invalid-*.json` is refused with the code (and path) of its sibling
 * `.expect.json`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { decodeMessage, encodeMessage } from './messages.js';
import { MESSAGE_KINDS, isMessageKind } from './schemas/index.js';

const vectorsDir = fileURLToPath(new URL('../vectors/messages/', import.meta.url));
const schemaDir = fileURLToPath(new URL('../schema/', import.meta.url));

interface Expectation {
  code: string;
  path?: string;
  why?: string;
}

interface Vector {
  name: string;
  bytes: Buffer;
  decoded?: unknown;
  expect?: Expectation;
}

function vectorsOf(kind: string): Vector[] {
  const dir = `${vectorsDir}${kind}/`;
  const names = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.expect.json') && !f.endsWith('.decoded.json'));
  return names.sort().map((file) => {
    const name = file.slice(0, -'.json'.length);
    const siblings = readdirSync(dir);
    const sibling = (suffix: string): unknown =>
      siblings.includes(`${name}${suffix}`) ? (JSON.parse(readFileSync(`${dir}${name}${suffix}`, 'utf8')) as unknown) : undefined;
    return { name, bytes: readFileSync(`${dir}${file}`), decoded: sibling('.decoded.json'), expect: sibling('.expect.json') as Expectation | undefined };
  });
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** ajv 6 (draft-07) validates the generated JSON Schemas independently of zod, where it is installed. */
type Validate = (schema: object, data: unknown) => boolean;
const validateJsonSchema: Validate | undefined = (() => {
  try {
    type AjvInstance = { validate: Validate };
    const Ajv = createRequire(import.meta.url)('ajv') as new (options: object) => AjvInstance;
    const ajv = new Ajv({ unknownFormats: 'ignore', schemaId: 'auto', allErrors: true, logger: false });
    return (schema, data) => ajv.validate(schema, data);
  } catch {
    return undefined;
  }
})();

const kindDirs = readdirSync(vectorsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

describe('message vectors', () => {
  it('cover every kind, each with valid and invalid examples, and nothing else', () => {
    expect(kindDirs.filter((k) => !isMessageKind(k))).toEqual([]);
    for (const kind of MESSAGE_KINDS) {
      const vectors = kindDirs.includes(kind) ? vectorsOf(kind) : [];
      expect(vectors.some((v) => v.name.startsWith('valid')), `${kind} has a valid vector`).toBe(true);
      expect(vectors.some((v) => v.name.startsWith('invalid')), `${kind} has an invalid vector`).toBe(true);
      for (const v of vectors) {
        expect(/^(valid|invalid)(-[a-z0-9-]+)?$/.test(v.name), `${kind}/${v.name}: name`).toBe(true);
        expect(v.name.startsWith('invalid') === (v.expect !== undefined), `${kind}/${v.name}: .expect.json iff invalid`).toBe(true);
      }
    }
  });

  for (const kind of kindDirs.filter(isMessageKind)) {
    describe(kind, () => {
      const schema = JSON.parse(readFileSync(`${schemaDir}${kind}.schema.json`, 'utf8')) as object;
      for (const v of vectorsOf(kind)) {
        if (v.expect === undefined) {
          it(`${v.name} decodes and round-trips`, () => {
            const value = decodeMessage(kind, v.bytes);
            if (v.decoded !== undefined) expect(value).toEqual(v.decoded);
            expect(decodeMessage(kind, encodeMessage(kind, value as never))).toEqual(value);
          });
          it.skipIf(validateJsonSchema === undefined)(`${v.name} passes the generated JSON Schema`, () => {
            expect(validateJsonSchema?.(schema, JSON.parse(v.bytes.toString('utf8')))).toBe(true);
          });
        } else {
          const expected = v.expect;
          it(`${v.name} is refused with ${expected.code}${expected.path ? ` at ${expected.path}` : ''}`, () => {
            const error = caught(() => decodeMessage(kind, v.bytes));
            expect(error).toBeInstanceOf(ProtocolError);
            const e = error as ProtocolError;
            expect(e.code).toBe(expected.code);
            expect(e.message).not.toContain('\n');
            if (expected.path !== undefined) expect(e.message).toContain(`at ${expected.path}:`);
          });
        }
      }
    });
  }
});
