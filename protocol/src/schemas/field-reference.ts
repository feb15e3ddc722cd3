/**
 * Renders the generated JSON Schemas as a Markdown field reference (`protocol/schema/README.md`): one
 * table per kind, a row per field with nested fields as dotted paths, so the human-readable reference
 * can never drift from the schemas.
 */
import type { MessageKind } from './index.js';

type Node = Record<string, unknown>;

const SAFE_INT = 9007199254740991;

const isNode = (value: unknown): value is Node => value !== null && typeof value === 'object' && !Array.isArray(value);
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const literal = (value: unknown): string => JSON.stringify(value);

function range(node: Node): string {
  const min = node.minimum ?? node.exclusiveMinimum;
  const max = node.maximum ?? node.exclusiveMaximum;
  const lo = typeof min === 'number' && min !== -SAFE_INT ? `${node.exclusiveMinimum === undefined ? '≥' : '>'}${min}` : '';
  const hi = typeof max === 'number' && max !== SAFE_INT ? `${node.exclusiveMaximum === undefined ? '≤' : '<'}${max}` : '';
  return [lo, hi].filter(Boolean).join(', ');
}

function variants(node: Node): Node[] | undefined {
  const list = node.oneOf ?? node.anyOf;
  return Array.isArray(list) ? list.filter(isNode) : undefined;
}

/** A short type description of one schema node. */
export function typeOf(node: Node): string {
  if (node.const !== undefined) return literal(node.const);
  if (Array.isArray(node.enum)) return node.enum.map(literal).join(' | ');
  const options = variants(node);
  if (options !== undefined) {
    const tags = options.map((o) => (o.type === 'object' ? discriminatorOf(o)?.name : undefined));
    const tag = tags[0];
    if (tag !== undefined && tags.every((t) => t === tag)) return `object, one of ${options.length} by \`${tag}\``;
    return options.map(typeOf).join(' or ');
  }
  const type = node.type;
  if (type === 'array') {
    const items = isNode(node.items) ? typeOf(node.items) : 'any';
    const count = [typeof node.minItems === 'number' ? `≥${node.minItems}` : '', typeof node.maxItems === 'number' ? `≤${node.maxItems}` : '']
      .filter(Boolean)
      .join(', ');
    return `array of ${items}${count ? ` (${count} items)` : ''}`;
  }
  if (type === 'integer' || type === 'number') {
    const r = range(node);
    return r ? `${String(type)} ${r}` : String(type);
  }
  if (type === 'string') {
    if (node.contentEncoding === 'base64') return `string (strict base64${typeof node.maxLength === 'number' ? `, ≤${node.maxLength} chars` : ''})`;
    if (typeof node.format === 'string') return `string (${node.format})`;
    if (typeof node.pattern === 'string' && node.pattern.length <= 40) return `string \`${node.pattern}\``;
    return typeof node.maxLength === 'number' ? `string (≤${node.maxLength} chars)` : 'string';
  }
  if (Array.isArray(type)) return type.join(' or ');
  if (typeof type === 'string') return type;
  return 'any JSON value';
}

/** The object schema of a node (itself, or a nullable/optional wrapper's object member). */
function objectOf(node: Node): Node | undefined {
  if (node.type === 'object' && isNode(node.properties)) return node;
  return undefined;
}

interface Row {
  path: string;
  type: string;
  required: string;
  description: string;
}

function rowsOf(node: Node, prefix: string, condition: string, out: Row[]): void {
  const object = objectOf(node);
  if (object === undefined) return;
  const required = new Set(Array.isArray(object.required) ? (object.required as string[]) : []);
  for (const [name, child] of Object.entries(object.properties as Node)) {
    if (!isNode(child)) continue;
    const path = `${prefix}${name}`;
    const hasDefault = child.default !== undefined;
    out.push({
      path,
      type: typeOf(child),
      required: required.has(name) ? 'yes' : hasDefault ? `no (default ${literal(child.default)})` : 'no',
      description: `${typeof child.description === 'string' ? child.description : ''}${condition}`,
    });
    nested(child, path, condition, out);
  }
}

function nested(child: Node, path: string, condition: string, out: Row[]): void {
  if (objectOf(child) !== undefined) rowsOf(child, `${path}.`, condition, out);
  if (child.type === 'array' && isNode(child.items)) nested(child.items, `${path}[]`, condition, out);
  for (const variant of variants(child) ?? []) {
    const tag = discriminatorOf(variant);
    rowsOf(variant, `${path}.`, tag ? `${condition} (when \`${tag.name}\` is ${literal(tag.value)})` : condition, out);
  }
}

function discriminatorOf(node: Node): { name: string; value: unknown } | undefined {
  const properties = isNode(node.properties) ? node.properties : {};
  for (const [name, child] of Object.entries(properties)) {
    if (isNode(child) && child.const !== undefined && name !== 'v' && name !== 'formatVersion') return { name, value: child.const };
  }
  return undefined;
}

function table(rows: Row[]): string {
  const lines = ['| field | type | required | description |', '| --- | --- | --- | --- |'];
  for (const r of rows) lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${cell(r.required)} | ${cell(r.description)} |`);
  return lines.join('\n');
}

/** Markdown for one kind: heading, description, and a field table per variant. */
export function fieldReferenceOf(kind: MessageKind, schema: Node): string {
  const title = typeof schema.title === 'string' ? schema.title : kind;
  const parts = [`## ${kind}`, '', `**${title}.** ${typeof schema.description === 'string' ? schema.description : ''}`.trim()];
  parts.push('', `Schema: [\`${kind}.schema.json\`](${kind}.schema.json)`);
  const options = objectOf(schema) === undefined ? variants(schema) : undefined;
  if (options === undefined) {
    const rows: Row[] = [];
    rowsOf(schema, '', '', rows);
    parts.push('', table(rows));
  } else {
    for (const variant of options) {
      const tag = discriminatorOf(variant);
      const rows: Row[] = [];
      rowsOf(variant, '', '', rows);
      parts.push('', tag ? `When \`${tag.name}\` is ${literal(tag.value)}:` : 'Variant:', '', table(rows));
    }
  }
  return parts.join('\n');
}

/** The whole reference document. */
export function fieldReference(schemas: readonly { kind: MessageKind; schema: Node }[]): string {
  const head = [
    '# akb message field reference',
    '',
    'Generated from the zod schemas by `npm run schema`; do not edit by hand. Every object is closed',
    '(unknown fields are refused). Types: integers are JSON numbers without a fraction; `≥`/`≤` are',
    'inclusive bounds. Semantics and topics: [PROTOCOL.md](../PROTOCOL.md). A JSON Schema cannot relate one',
    'field to another nor count decoded base64 bytes, so a document these schemas accept may still be refused:',
    'the decoders also apply [the rules the JSON Schemas cannot express](../PROTOCOL.md#rules-the-json-schemas-cannot-express).',
    '',
    schemas.map(({ kind }) => `[${kind}](#${kind})`).join(' · '),
  ];
  return `${[...head, ...schemas.map(({ kind, schema }) => `\n${fieldReferenceOf(kind, schema)}`)].join('\n')}\n`;
}
