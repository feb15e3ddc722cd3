/**
 * Reading a results.json back from disk (for `akb hil compare`, or a report redrawn later). The file is
 * untrusted: its size is checked before it is read (MAX_RESULTS_BYTES), then it is parsed and validated
 * against the results schema (results.ts). Every refusal is one AkbError line that names the file and,
 * for a schema violation, the field (e.g. `summary[3].psnrMean`).
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { HilResults, MAX_RESULTS_BYTES, RESULTS_VERSION } from './results.js';

/** The results.json inside a report folder, or the file itself. */
export async function resolveResultsPath(path: string): Promise<string> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new AkbError('NOT_FOUND', `${path}: ${e.code === 'ENOENT' ? 'no such file or folder' : e.message}`, {
      hint: 'give a report folder (holding results.json) or a results.json file',
      exitCode: 2,
    });
  });
  return st.isDirectory() ? join(path, 'results.json') : path;
}

/** Reads, bounds, parses and validates `path` (a report folder or a results.json). */
export async function readResults(path: string, maxBytes = MAX_RESULTS_BYTES): Promise<HilResults> {
  const file = await resolveResultsPath(path);
  const text = await readBounded(file, maxBytes);
  return parseResults(text, file);
}

async function readBounded(file: string, maxBytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AkbError('NOT_FOUND', `${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, {
      hint: 'a report folder holds results.json once `akb hil run` has finished',
      exitCode: 2,
    });
  }
  try {
    const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile) throw new AkbError('BAD_RESULTS', `${file}: not a regular file`, { exitCode: 2 });
    if (size > maxBytes) {
      throw new AkbError('TOO_LARGE', `${file}: ${size} bytes, over the ${maxBytes}-byte limit for a results file`, { exitCode: 2 });
    }
    // Read at most maxBytes + 1 even if the file grows after stat, so the bound holds.
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) break;
    }
    if (got > maxBytes) throw new AkbError('TOO_LARGE', `${file}: over the ${maxBytes}-byte limit for a results file`, { exitCode: 2 });
    return buf.subarray(0, got).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Validates the text of a results file; `file` names it in errors. */
export function parseResults(text: string, file = 'results.json'): HilResults {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const why = text.trim().length === 0 ? 'empty' : `not JSON (${(e as Error).message.slice(0, 120)}); truncated?`;
    throw new AkbError('BAD_RESULTS', `${file}: ${why}`, { exitCode: 2 });
  }
  const head = value as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || Array.isArray(head) || head.format !== 'akb-hil-results') {
    throw new AkbError('BAD_RESULTS', `${file}: not an akb HIL results file (format is not "akb-hil-results")`, {
      hint: 'give the results.json that `akb hil run` wrote',
      exitCode: 2,
    });
  }
  if (head.version !== RESULTS_VERSION) {
    throw new AkbError('BAD_RESULTS', `${file}: results format version ${JSON.stringify(head.version)}; this akb reads version ${RESULTS_VERSION}`, { exitCode: 2 });
  }
  const parsed = HilResults.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AkbError('BAD_RESULTS', `${file}: ${fieldPath(issue.path)}: ${issue.message}`, { exitCode: 2 });
  }
  return parsed.data;
}

function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
