/**
 * Writes protocol/schema/<kind>.schema.json for every message kind and the field reference README.md
 * (run: `npm run schema`), and removes schema files of kinds that no longer exist. Output is deterministic; json-schema.test.ts fails when the
 * committed files differ from what this would write.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemaFiles } from '../src/schemas/json-schema.js';

const outDir = fileURLToPath(new URL('../schema/', import.meta.url));
mkdirSync(outDir, { recursive: true });

const files = jsonSchemaFiles();
const wanted = new Set(files.map((f) => f.file));
for (const name of readdirSync(outDir)) {
  if ((name.endsWith('.schema.json') || name.endsWith('.md')) && !wanted.has(name)) {
    rmSync(`${outDir}${name}`);
    console.log(`removed ${name}`);
  }
}
for (const { file, text } of files) writeFileSync(`${outDir}${file}`, text);
console.log(`wrote ${files.length} files (JSON Schemas and the field reference) to ${outDir}`);
