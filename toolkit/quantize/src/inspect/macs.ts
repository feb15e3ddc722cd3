/**
 * Multiply-accumulate counts of the ops that dominate inference, from tensor shapes.
 */
import { attrInt } from '../onnx/graph.js';
import type { Node } from '../onnx/types.js';

/** Ops whose MACs the inspector counts. */
export const MAC_OPS: ReadonlySet<string> = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * The tensors whose shapes `nodeMacs` needs for a node (empty when the op is not counted).
 */
export function macInputs(node: Node): string[] {
  switch (node.opType) {
    case 'Conv':
      return [node.output[0]!, node.input[1]!];
    case 'ConvTranspose':
      return [node.input[0]!, node.input[1]!];
    case 'MatMul':
      return [node.input[0]!, node.output[0]!];
    case 'Gemm':
      return [node.input[0]!, node.output[0]!];
    default:
      return [];
  }
}

/**
 * MACs of one node of the default domain, or undefined when it is not counted or a shape is missing:
 * - Conv: output elements x (input channels / group) x kernel size = |Y| x prod(W.dims[1:]);
 * - ConvTranspose: each input element meets (output channels / group) x kernel weights = |X| x prod(W.dims[1:]);
 * - MatMul: output elements x the shared dimension K (A's last dim);
 * - Gemm: M x N x K, K from A's shape and transA.
 */
export function nodeMacs(node: Node, shapeOf: (name: string) => readonly number[] | undefined): number | undefined {
  if ((node.domain !== '' && node.domain !== 'ai.onnx') || !MAC_OPS.has(node.opType)) return undefined;
  const shapes = macInputs(node).map((n) => (n === undefined || n === '' ? undefined : shapeOf(n)));
  if (shapes.some((s) => s === undefined)) return undefined;
  const [a, b] = shapes as [readonly number[], readonly number[]];
  switch (node.opType) {
    case 'Conv':
    case 'ConvTranspose':
      // a: Y (Conv) or X (ConvTranspose); b: W.
      return product(a) * product(b.slice(1));
    case 'MatMul': {
      // a: A, b: Y. A 1-D A is [K].
      const k = a.at(-1) ?? 1;
      return product(b) * k;
    }
    case 'Gemm': {
      const k = attrInt(node, 'transA', 0) ? (a[0] ?? 1) : (a[1] ?? 1);
      return product(b) * k;
    }
    default:
      return undefined;
  }
}
