/**
 * Removing Cast pairs that cancel: `x -> Cast(to=A) -> y -> Cast(to=B) -> z` where A and B are
 * float types and y feeds nothing else. The pair becomes one Cast(to=B) from x, or nothing when x
 * already has type B (z's consumers then read x). Dropping the intermediate float16 rounding only
 * makes values more exact. Only pairs that include a Cast made by the converter are touched, so a
 * model's own deliberate roundings stay.
 */
import { DataType, type Graph, type Node } from '../onnx/types.js';

const FLOATS: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);

function castTo(node: Node): number | undefined {
  if (node.opType !== 'Cast' || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
  return node.attribute.find((a) => a.name === 'to')?.i;
}

/**
 * Folds cancelling Cast pairs in place. `made` holds the Casts the converter inserted; `types`
 * gives tensor element types (for x). Returns the number of Cast nodes removed.
 */
export function foldCastPairs(graph: Graph, made: ReadonlySet<Node>, types: ReadonlyMap<string, number>): number {
  const outputs = new Set(graph.output.map((o) => o.name));
  let removed = 0;
  for (;;) {
    const consumers = new Map<string, Node[]>();
    for (const n of graph.node) for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    const producers = new Map<string, Node>();
    for (const n of graph.node) for (const o of n.output) if (o) producers.set(o, n);
    let changed = false;
    for (const second of graph.node) {
      const b = castTo(second);
      const y = second.input[0];
      const first = y ? producers.get(y) : undefined;
      const a = first ? castTo(first) : undefined;
      if (!first || !y || a === undefined || b === undefined || !FLOATS.has(a) || !FLOATS.has(b)) continue;
      if (!made.has(first) && !made.has(second)) continue;
      if (outputs.has(y) || (consumers.get(y) ?? []).length !== 1) continue;
      const x = first.input[0]!;
      const z = second.output[0]!;
      if (types.get(x) === b && !outputs.has(z)) {
        for (const c of consumers.get(z) ?? []) c.input = c.input.map((i) => (i === z ? x : i));
        graph.node = graph.node.filter((n) => n !== first && n !== second);
        removed += 2;
      } else {
        second.input = [x, ...second.input.slice(1)];
        graph.node = graph.node.filter((n) => n !== first);
        removed += 1;
      }
      changed = true;
      break;
    }
    if (!changed) return removed;
  }
}
