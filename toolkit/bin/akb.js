#!/usr/bin/env node
// `akb`: starts the built program. Committed so that npm links the command at install time; `npm ci` then builds dist/ (the root's `prepare`).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli.js', import.meta.url);
if (existsSync(entry)) await import(entry.href);
else (process.exitCode = 1), process.stderr.write('akb: not built yet (run `npm run build` in the akb checkout)\n');
