/**
 * Reads a plan file (YAML, or JSON, which YAML reads too), validates it against plan.ts and then against
 * what the schema cannot see (ids unique, thresholds naming known variants and channels, model sets and
 * images present), and refuses it with the file, the line and the field path:
 *
 *   plan.yaml:14: variants[1].precision: expected float, fp16 or int8
 *
 * Every refusal is an AkbError with exit code 2 (a bad plan). The file is bounded before it is parsed.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { isMap, isNode, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { AkbError } from '@akb/protocol';
import { HilPlan, MAX_GRID, snrGrid, type ChannelPlan, type VariantPlan } from './plan.js';

/** Largest plan file read. */
export const MAX_PLAN_BYTES = 1024 * 1024;

export interface LoadedPlan {
  plan: HilPlan;
  /** The plan file as given, and its folder (relative paths in the plan are resolved against it). */
  file: string;
  dir: string;
  sha256: string;
  /** The SNR grid (ascending), or the trace's SNRs when the plan has a trace. */
  snrsDb: number[];
  channels: (ChannelPlan & { id: string })[];
  variants: (VariantPlan & { id: string; policy: string })[];
  /** The zoo folder, absolute. */
  zoo: string;
}

export class PlanError extends AkbError {
  constructor(message: string, hint?: string) {
    super('BAD_PLAN', message, { exitCode: 2, ...(hint === undefined ? {} : { hint }) });
  }
}

type Path = readonly PropertyKey[];

/** `variants[1].precision` */
export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out;
}

/** The 1-based line of the deepest node of `path` present in the document. */
function lineOf(doc: Document, counter: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined = isNode(node) && node.range ? counter.linePos(node.range[0]).line : undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (isNode(it.key) ? (it.key as { value?: unknown }).value : it.key) === key);
      if (pair === undefined) break;
      const k = pair.key;
      if (isNode(k) && k.range) line = counter.linePos(k.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
    } else break;
    if (isNode(node) && node.range) line = counter.linePos(node.range[0]).line;
  }
  return line;
}

export interface PlanLoadOptions {
  /** Default zoo folder when the plan names none. */
  defaultZoo: string;
}

export async function loadPlan(file: string, options: PlanLoadOptions): Promise<LoadedPlan> {
  const name = basename(file);
  let bytes: Buffer;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new PlanError(`${file}: not a file`);
    if (s.size > MAX_PLAN_BYTES) throw new PlanError(`${file}: ${s.size} bytes; a plan is at most ${MAX_PLAN_BYTES} bytes`);
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof PlanError) throw e;
    throw new PlanError(`cannot read the plan ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'give the path of a plan file (YAML or JSON)');
  }
  const counter = new LineCounter();
  const doc = parseDocument(bytes.toString('utf8'), { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line ?? (syntax.pos[0] >= 0 ? counter.linePos(syntax.pos[0]).line : undefined);
    throw new PlanError(`${name}${line === undefined ? '' : `:${line}`}: ${syntax.message.split('\n')[0]}`, 'the plan is YAML (or JSON)');
  }
  const at = (path: Path, message: string, hint?: string): PlanError => {
    const line = lineOf(doc, counter, path);
    return new PlanError(`${name}${line === undefined ? '' : `:${line}`}: ${path.length > 0 ? `${formatPath(path)}: ` : ''}${message}`, hint);
  };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml throws for an alias before its anchor and for an alias bomb (more than maxAliasCount expansions)
    throw new PlanError(`${name}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`, 'anchors must come before their aliases, and aliases may not expand into huge documents');
  }
  const parsed = HilPlan.safeParse(data);
  if (!parsed.success) throw at(...describeIssue(parsed.error.issues[0]), 'see hil/README.md and hil/plan.schema.json');
  const plan = parsed.data;
  const dir = resolve(file, '..');
  const rel = (p: string): string => (isAbsolute(p) ? p : join(dir, p));

  const channels = plan.channels.map((c) => ({ ...c, id: c.id ?? c.kind }));
  unique(channels.map((c) => c.id), (i, id) => at(['channels', i, ...(plan.channels[i]?.id ? ['id'] : ['kind'])], `channel id "${id}" is used twice`, 'give each channel an id'));
  const zoo = rel(plan.models ?? options.defaultZoo);
  const variants = await Promise.all(plan.variants.map((v, i) => resolveVariant(v, i, zoo, at)));
  unique(variants.map((v) => v.id), (i, id) => at(['variants', i], `variant id "${id}" is used twice`, 'give each variant an id'));
  const ids = new Set(variants.map((v) => v.id));
  const channelIds = new Set(channels.map((c) => c.id));
  plan.thresholds.forEach((t, i) => {
    if (!ids.has(t.variant)) throw at(['thresholds', i, 'variant'], `no variant "${t.variant}" (variants: ${[...ids].join(', ')})`);
    if (t.baseline !== undefined && !ids.has(t.baseline)) throw at(['thresholds', i, 'baseline'], `no variant "${t.baseline}"`);
    if (t.channel !== undefined && !channelIds.has(t.channel)) throw at(['thresholds', i, 'channel'], `no channel "${t.channel}" (channels: ${[...channelIds].join(', ')})`);
  });
  let snrsDb: number[];
  if (plan.snrDb !== undefined) {
    snrsDb = snrGrid(plan.snrDb);
    if (snrsDb.length === 0) throw at(['snrDb'], 'the SNR grid is empty');
    if (snrsDb.length > MAX_GRID) throw at(['snrDb'], `the grid has more than ${MAX_GRID} points`, 'use a larger step');
  } else {
    const points = plan.trace?.points ?? [];
    points.forEach((p, i) => {
      if (i > 0 && p.timeMs < points[i - 1]!.timeMs) throw at(['trace', 'points', i, 'timeMs'], `time ${p.timeMs} ms goes back`);
    });
    snrsDb = [...new Set(points.map((p) => p.snrDb))].sort((a, b) => a - b);
  }
  if (plan.images.folder !== undefined) await mustExist(rel(plan.images.folder), 'directory', () => at(['images', 'folder'], `no folder ${rel(plan.images.folder!)}`));
  for (const [i, f] of (plan.images.files ?? []).entries()) await mustExist(rel(f), 'file', () => at(['images', 'files', i], `no file ${rel(f)}`));
  return { plan, file, dir, sha256: createHash('sha256').update(bytes).digest('hex'), snrsDb, channels, variants, zoo };
}

function describeIssue(issue: z.core.$ZodIssue | undefined): [Path, string] {
  if (issue === undefined) return [[], 'invalid'];
  if (issue.code === 'unrecognized_keys') {
    return [[...issue.path, issue.keys[0] ?? ''], `unknown field${issue.keys.length > 1 ? `s ${issue.keys.join(', ')}` : ''}`];
  }
  if (issue.code === 'invalid_union' && 'errors' in issue) {
    // The branch that got furthest says the most (e.g. a list whose third SNR is 1000 dB).
    const deepest = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest && deepest.path.length > 0) return [[...issue.path, ...deepest.path], deepest.message];
  }
  return [issue.path, issue.message];
}

function unique(ids: string[], error: (index: number, id: string) => Error): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) throw error(i, id);
    seen.add(id);
  });
}

async function mustExist(path: string, kind: 'file' | 'directory', error: () => Error): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (s === undefined || (kind === 'file' ? !s.isFile() : !s.isDirectory())) throw error();
}

async function resolveVariant(
  v: VariantPlan,
  i: number,
  zoo: string,
  at: (path: Path, message: string, hint?: string) => PlanError,
): Promise<VariantPlan & { id: string; policy: string }> {
  const setFile = join(zoo, '..', 'sets', `${v.set}.json`);
  let kind: string | undefined;
  try {
    kind = (JSON.parse(await readFile(setFile, 'utf8')) as { kind?: string }).kind;
  } catch {
    throw at(['variants', i, 'set'], `no model set "${v.set}" (${setFile})`, 'name a file of models/sets/, or set models: to the zoo beside it');
  }
  const policy = v.policy ?? (kind === 'akb' ? 'dqn' : 'fixed:0');
  if (kind !== 'akb' && (policy === 'dqn' || policy === 'channel-kb')) {
    throw at(['variants', i, 'policy'], `${v.set} is a ${kind ?? 'plain'} set without a policy: use fixed:0`);
  }
  const id = v.id ?? [v.set, v.precision === 'float' ? '' : v.precision, v.kb === 'off' && (kind === 'akb' || kind === 'akb-fixed') ? 'nokb' : '', v.policy === undefined ? '' : policy.replace(':', '')].filter(Boolean).join('-');
  return { ...v, id, policy };
}
