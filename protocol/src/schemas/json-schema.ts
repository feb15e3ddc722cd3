/**
 * JSON Schema (draft-07, which most editors and validators support) generated from the zod schemas: one
 * document per message kind, with `$id` and `title`. Generation is deterministic, so the committed files
 * under `protocol/schema/` can be compared byte for byte (see json-schema.test.ts; `npm run schema`
 * rewrites them).
 */
import { z } from 'zod';
import { fieldReference } from './field-reference.js';
import { MESSAGE_KINDS, messageSchemas, type MessageKind } from './index.js';

/** `$id` of a kind's schema. */
export function schemaId(kind: MessageKind): string {
  return `urn:akb:protocol:v1:${kind}`;
}

export function schemaFileName(kind: MessageKind): string {
  return `${kind}.schema.json`;
}

/** The JSON Schema of one kind, as an object. Describes the input: fields with defaults are optional. */
export function jsonSchemaOf(kind: MessageKind): Record<string, unknown> {
  const generated = z.toJSONSchema(messageSchemas[kind], { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const { $schema, title, description, ...rest } = generated;
  return {
    $schema,
    $id: schemaId(kind),
    title: typeof title === 'string' ? title : kind,
    ...(description === undefined ? {} : { description }),
    ...rest,
  };
}

/** Name of the generated Markdown field reference beside the schema files. */
export const FIELD_REFERENCE_FILE = 'README.md';

/** Every generated file: the schemas (2-space JSON, trailing newline) and the Markdown field reference. */
export function jsonSchemaFiles(): { file: string; text: string }[] {
  const schemas = MESSAGE_KINDS.map((kind) => ({ kind, schema: jsonSchemaOf(kind) }));
  return [
    ...schemas.map(({ kind, schema }) => ({ file: schemaFileName(kind), text: `${JSON.stringify(schema, null, 2)}\n` })),
    { file: FIELD_REFERENCE_FILE, text: fieldReference(schemas) },
  ];
}
