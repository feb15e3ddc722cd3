/**
 * Turns zod validation failures into one-line ProtocolErrors. Input may be hostile: keys and values
 * quoted in the message are cut short, and control characters are replaced, so the line stays one line.
 */
import type { z } from 'zod';
import { ProtocolError } from '../errors.js';

const MAX_SEGMENT = 40;
const MAX_PROBLEM = 200;

function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Renders a zod path as `a.b[2].c`; odd keys are quoted, long ones cut. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
    } else {
      const key = oneLine(String(segment), MAX_SEGMENT);
      out += /^[A-Za-z_$][\w$]*$/.test(key) ? `${out === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** `at <path>: <problem>` for the first issue, plus a count of the others. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid value';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? 's' : ''})` : '';
  const problem = first.code === 'invalid_type' && first.message.endsWith('received undefined') ? 'required field is missing' : first.message;
  return `at ${formatPath(first.path)}: ${oneLine(problem, MAX_PROBLEM)}${more}`;
}

/** The ProtocolError for a value that `kind`'s schema refused. */
export function schemaViolation(kind: string, error: z.ZodError): ProtocolError {
  const first = error.issues[0];
  return new ProtocolError('SCHEMA_VIOLATION', `${kind}: ${describeIssues(error.issues)}`, {
    hint: `see protocol/schema/${kind}.schema.json`,
    cause: first === undefined ? undefined : { path: first.path.map(String), code: first.code },
  });
}

/** Parses `value` with `schema`, throwing ProtocolError('SCHEMA_VIOLATION') instead of a ZodError. */
export function parseOrThrow<S extends z.ZodType>(kind: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw schemaViolation(kind, result.error);
  return result.data;
}
