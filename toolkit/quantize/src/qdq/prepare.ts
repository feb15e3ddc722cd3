/**
 * The copy of a model that the graph rewriters work on. The copy shares TensorProto objects with
 * the input (they are never mutated: rewriters add new tensors) but has its own node, attribute,
 * initializer and value-info lists, so the caller's model is left untouched.
 */
import type { Graph, Model, Node } from '../onnx/types.js';

/** A copy of the model whose top-level graph lists and nodes can be changed freely. */
export function cloneForRewrite(model: Model): Model {
  const g = model.graph;
  const graph: Graph = {
    ...g,
    node: g.node.map(cloneNode),
    initializer: [...g.initializer],
    sparseInitializer: [...g.sparseInitializer],
    input: [...g.input],
    output: [...g.output],
    valueInfo: [...g.valueInfo],
    quantizationAnnotation: [...g.quantizationAnnotation],
  };
  return {
    ...model,
    opsetImport: model.opsetImport.map((o) => ({ ...o })),
    metadataProps: [...model.metadataProps],
    functions: [...model.functions],
    graph,
  };
}

/** A node with its own input, output and attribute lists (attribute values are shared). */
export function cloneNode(n: Node): Node {
  return { ...n, input: [...n.input], output: [...n.output], attribute: n.attribute.map((a) => ({ ...a })) };
}

/**
 * Gives every unnamed top-level node a name, `<OpType>_<index in graph.node>` (with a suffix when
 * taken), so nodes can be reported and excluded by name. Deterministic: the same model gets the
 * same names in every call.
 */
export function nameNodes(graph: Graph): void {
  const taken = new Set(graph.node.map((n) => n.name).filter((n) => n));
  graph.node.forEach((node, i) => {
    if (node.name) return;
    let name = `${node.opType}_${i}`;
    for (let k = 1; taken.has(name); k++) name = `${node.opType}_${i}_${k}`;
    taken.add(name);
    node.name = name;
  });
}

/**
 * Turns top-level Constant nodes holding a tensor (`value`) into initializers of the same name, so
 * their data can be quantized offline like any weight. Constants that are graph outputs stay.
 */
export function constantsToInitializers(graph: Graph): void {
  const outputs = new Set(graph.output.map((o) => o.name));
  const inits = new Set(graph.initializer.map((t) => t.name));
  graph.node = graph.node.filter((node) => {
    if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) return true;
    const name = node.output[0];
    const value = node.attribute.length === 1 && node.attribute[0]?.name === 'value' ? node.attribute[0].t : undefined;
    if (!name || !value || outputs.has(name) || inits.has(name) || value.dataLocation === 1) return true;
    graph.initializer.push({ ...value, name });
    inits.add(name);
    return false;
  });
}
