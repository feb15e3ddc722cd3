/**
 * The plan's field reference as a Markdown table, generated from its JSON Schema (plan.ts), for
 * hil/README.md (`akb hil schema --markdown`; a test fails when the README's copy is stale).
 */
import { planJsonSchema } from './plan.js';

interface Json {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Json[];
  /** A discriminated union (plan `link`, `link.modem`): each branch an object tagged by a const field. */
  oneOf?: Json[];
  /** A tuple when a list (e.g. a tap [re, im]). */
  items?: Json | Json[];
  properties?: Record<string, Json>;
  required?: string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  maxLength?: number;
}

function typeOf(s: Json): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.oneOf) {
    const tags = s.oneOf.map((o) => Object.values(o.properties ?? {}).find((p) => p.const !== undefined)?.const);
    return tags.every((t) => t !== undefined) ? `object, one of ${tags.map((t) => JSON.stringify(t)).join(' \\| ')}` : s.oneOf.map(typeOf).join(' or ');
  }
  if (Array.isArray(s.items)) return `[${s.items.map(typeOf).join(', ')}]`;
  if (s.type === 'array') return `list of ${typeOf(s.items ?? {})}`;
  if (s.type === 'object') return 'object';
  return s.type ?? 'any';
}

function limits(s: Json): string {
  const out: string[] = [];
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.minItems !== undefined && s.minItems !== 0) out.push(`at least ${s.minItems}`);
  if (s.maxItems !== undefined) out.push(`at most ${s.maxItems}`);
  if (s.maxLength !== undefined && s.type === 'string') out.push(`≤ ${s.maxLength} chars`);
  return out.join(', ');
}

function rows(s: Json, prefix: string, required: readonly string[], out: string[]): void {
  const props = s.properties ?? {};
  for (const [name, p] of Object.entries(props)) {
    if (name === '$schema') continue;
    const path = `${prefix}${name}`;
    const dflt = p.default === undefined ? (required.includes(name) ? 'required' : '') : `\`${JSON.stringify(p.default)}\``;
    const desc = (p.description ?? '').replace(/\|/g, '\\|');
    out.push(`| \`${path}\` | ${typeOf(p)} | ${dflt} | ${limits(p)} | ${desc} |`);
    const nested = [p, ...(p.anyOf ?? []), ...(p.oneOf ?? [])];
    for (const n of nested) {
      if (n.type === 'object' && n.properties) rows(n, `${path}.`, n.required ?? [], out);
      const items = n.type === 'array' && !Array.isArray(n.items) ? n.items : undefined;
      for (const it of [items, ...(items?.anyOf ?? [])]) {
        if (it?.type === 'object' && it.properties) rows(it, `${path}[].`, it.required ?? [], out);
      }
    }
  }
}

export function planFieldTable(): string {
  const schema = planJsonSchema() as Json;
  const out = ['| field | type | default | limits | meaning |', '| --- | --- | --- | --- | --- |'];
  rows(schema, '', schema.required ?? [], out);
  return out.join('\n');
}
