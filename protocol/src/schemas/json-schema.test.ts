/**
 * The committed JSON Schemas under protocol/schema/ must be exactly what the zod schemas generate, so
 * that editors and third-party validators see the contract the code enforces.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MESSAGE_KINDS } from './index.js';
import { jsonSchemaFiles, jsonSchemaOf, schemaId } from './json-schema.js';

const schemaDir = fileURLToPath(new URL('../../schema/', import.meta.url));
const STALE = 'is out of date: run `npm run schema` and commit protocol/schema/';

describe('generated JSON Schema', () => {
  const files = jsonSchemaFiles();

  it('has one committed file per kind and no others', () => {
    const committed = readdirSync(schemaDir).sort();
    expect(committed, `protocol/schema/ ${STALE}`).toEqual(files.map((f) => f.file).sort());
  });

  for (const { file, text } of files) {
    it(`${file} matches the zod schema`, () => {
      let committed = '';
      try {
        committed = readFileSync(`${schemaDir}${file}`, 'utf8');
      } catch {
        // Reported by the comparison below.
      }
      expect(committed === text, `protocol/schema/${file} ${STALE}`).toBe(true);
    });
  }

  it('is deterministic and self-describing', () => {
    expect(jsonSchemaFiles()).toEqual(files);
    for (const kind of MESSAGE_KINDS) {
      const schema = jsonSchemaOf(kind);
      expect(schema.$id).toBe(schemaId(kind));
      expect(typeof schema.title).toBe('string');
      expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    }
  });

  it('closes every object: unknown fields are refused, as the strict zod schemas do', () => {
    const open: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) {
        node.forEach((child, i) => walk(child, `${where}/${i}`));
      } else if (node !== null && typeof node === 'object') {
        const record = node as Record<string, unknown>;
        if (record.type === 'object' && record.properties !== undefined && record.additionalProperties !== false) open.push(where);
        for (const [key, child] of Object.entries(record)) walk(child, `${where}/${key}`);
      }
    };
    for (const kind of MESSAGE_KINDS) walk(jsonSchemaOf(kind), kind);
    expect(open).toEqual([]);
  });
});
