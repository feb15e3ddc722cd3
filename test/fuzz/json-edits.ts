/**
 * Field-level mutations of a JSON document, shared by the suites that fuzz file readers (edge config, HIL
 * plans, device profiles and model cards): pick any field or element, then set it to a hostile value,
 * delete it, or add a key beside it (`__proto__` and `constructor` included, as own properties).
 */
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Edit = { op: 'set'; value: Json } | { op: 'delete' } | { op: 'add'; key: string; value: Json };

/** Every path to a field or element of `value`. */
export function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((child, i) => [[...prefix, i], ...pathsOf(child, [...prefix, i])]);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, child]) => [[...prefix, k], ...pathsOf(child, [...prefix, k])]);
  return [];
}

/** A copy of `value` with `edit` applied at its `pick`-th path (mod their count). */
export function edited(value: { [key: string]: Json }, pick: number, edit: Edit): Json {
  const copy = structuredClone(value);
  const paths = pathsOf(copy);
  const path = paths[pick % paths.length]!;
  let parent = copy as Json;
  for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[key]!;
  const last = path[path.length - 1]!;
  const container = parent as Record<string | number, Json>;
  if (edit.op === 'set') container[last] = edit.value;
  else if (edit.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete container[last];
  } else if (!Array.isArray(parent)) Object.defineProperty(container, edit.key, { value: edit.value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Small JSON values and the `extra` ones a reader should refuse or survive. */
export function hostileJson(extra: readonly Json[]): fc.Arbitrary<Json> {
  return fc.oneof(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, fc.constantFrom<Json>(...extra));
}

/** Edits whose values come from `values` and whose added keys are `keys`, `__proto__`, `constructor` or short random ones. */
export function editArbitrary(values: fc.Arbitrary<Json>, keys: readonly string[] = []): fc.Arbitrary<Edit> {
  return fc.oneof(
    fc.record({ op: fc.constant('set' as const), value: values }),
    fc.record({ op: fc.constant('delete' as const) }),
    fc.record({ op: fc.constant('add' as const), key: fc.oneof(fc.constantFrom('__proto__', 'constructor', ...keys), fc.string({ maxLength: 8 })), value: values }),
  );
}
