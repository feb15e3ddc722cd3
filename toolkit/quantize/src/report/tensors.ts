/**
 * Per-tensor SQNR of a quantized model, each tensor in isolation:
 * - activations: every QuantizeLinear on a computed tensor gives its scale and zero point; the float
 *   model is run with those tensors as extra outputs on held-out rows, and each float value is compared
 *   with its fake-quantized value (QuantizeLinear then DequantizeLinear with the model's parameters);
 * - weights: every DequantizeLinear of an int8/uint8 initializer is dequantized (per channel on its
 *   axis) and compared with the float initializer it replaced.
 * The result says where the quantizer loses precision, not how errors add up through the network (that
 * is the end-to-end output SQNR).
 */
import { withOutputs } from '../onnx/graph.js';
import { encodeModel } from '../onnx/io.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import { DataType, type Model, type Node, type TensorProto } from '../onnx/types.js';
import { quantizeValue, type QuantType } from '../numerics/qparams.js';
import { batchOf, type RowTable } from './rows.js';
import { createSession, runSession } from './session.js';
import type { TensorSqnr } from './types.js';

interface ActivationParams {
  scale: number;
  zeroPoint: number;
  type: QuantType;
}

/** Per-tensor SQNR of activations (on the first `rows` held-out rows) and weights, lowest first. */
export async function tensorSqnr(floatModel: Model, quantized: Model, heldOut: RowTable, rows = 8): Promise<TensorSqnr[]> {
  const inits = new Map(quantized.graph.initializer.map((t) => [t.name, t]));
  const floatNames = new Set<string>([...floatModel.graph.input.map((i) => i.name), ...floatModel.graph.node.flatMap((n) => n.output)]);
  const acts = new Map<string, ActivationParams>();
  const weights: TensorSqnr[] = [];
  const floatInits = new Map(floatModel.graph.initializer.map((t) => [t.name, t]));
  const dqOf = new Map<string, Node>();
  for (const n of quantized.graph.node) if (n.opType === 'DequantizeLinear' && n.input[0] !== undefined) dqOf.set(n.input[0], n);
  for (const n of quantized.graph.node) {
    if (n.opType === 'QuantizeLinear') {
      const x = n.input[0]!;
      if (inits.has(x)) {
        // TensorRT mode keeps weights float behind a QuantizeLinear → DequantizeLinear pair.
        const w = fakeQuantWeightSqnr(n, inits);
        if (w !== undefined) weights.push(w);
        continue;
      }
      const params = scalarParams(inits.get(n.input[1] ?? ''), inits.get(n.input[2] ?? ''));
      if (params === undefined) continue;
      // A graph output keeps its name on the DequantizeLinear output; the float model has it under that name.
      const dqOut = dqOf.get(n.output[0] ?? '')?.output[0];
      const name = floatNames.has(x) ? x : dqOut !== undefined && floatNames.has(dqOut) ? dqOut : undefined;
      if (name !== undefined && !acts.has(name)) acts.set(name, params);
    } else if (n.opType === 'DequantizeLinear') {
      const w = weightSqnr(n, inits, floatInits);
      if (w !== undefined) weights.push(w);
    }
  }
  const out = [...(await activationSqnr(floatModel, acts, heldOut, rows)), ...weights];
  return out.sort((a, b) => a.sqnrDb - b.sqnrDb);
}

async function activationSqnr(floatModel: Model, acts: Map<string, ActivationParams>, heldOut: RowTable, rows: number): Promise<TensorSqnr[]> {
  if (acts.size === 0) return [];
  const names = [...acts.keys()];
  const session = await createSession(encodeModel(withOutputs(floatModel, names)), 'the float model with intermediate outputs');
  const sums = new Map(names.map((n) => [n, { signal: 0, noise: 0 }]));
  for (let row = 0; row < Math.min(rows, heldOut.count); row++) {
    const result = await runSession(session, batchOf(heldOut, row, 1, session.inputNames), 'the float model');
    for (const name of names) {
      const t = result[name];
      if (t === undefined || t.type !== 'float32') continue;
      const p = acts.get(name)!;
      const acc = sums.get(name)!;
      const values = t.data as Float32Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        const d = v - (quantizeValue(v, p, p.type) - p.zeroPoint) * p.scale;
        acc.signal += v * v;
        acc.noise += d * d;
      }
    }
  }
  await session.release();
  return names.map((name) => {
    const p = acts.get(name)!;
    const { signal, noise } = sums.get(name)!;
    return { name, kind: 'activation' as const, sqnrDb: ratioDb(signal, noise), scale: p.scale, zeroPoint: p.zeroPoint, type: p.type };
  });
}

function weightSqnr(dq: Node, inits: Map<string, TensorProto>, floatInits: Map<string, TensorProto>): TensorSqnr | undefined {
  const q = inits.get(dq.input[0] ?? '');
  const scaleT = inits.get(dq.input[1] ?? '');
  if (q === undefined || scaleT === undefined || (q.dataType !== DataType.INT8 && q.dataType !== DataType.UINT8)) return undefined;
  const original = [dq.output[0], stripSuffix(q.name)].map((n) => floatInits.get(n ?? '')).find((t) => t !== undefined && t.dataType === DataType.FLOAT);
  if (original === undefined || original.dims.join() !== q.dims.join()) return undefined;
  const values = tensorToFloat32(q);
  const ref = tensorToFloat32(original);
  const scales = tensorToFloat32(scaleT);
  const zpT = inits.get(dq.input[2] ?? '');
  const zps = zpT ? tensorToFloat32(zpT) : new Float32Array(scales.length);
  const axisAttr = dq.attribute.find((a) => a.name === 'axis')?.i ?? 1;
  const axis = axisAttr < 0 ? axisAttr + q.dims.length : axisAttr;
  const inner = scales.length === 1 ? values.length : q.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = scales.length;
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < values.length; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    const d = ref[i]! - (values[i]! - zps[c]!) * scales[c]!;
    signal += ref[i]! * ref[i]!;
    noise += d * d;
  }
  return {
    name: original.name,
    kind: 'weight',
    sqnrDb: ratioDb(signal, noise),
    scale: Math.max(...scales),
    zeroPoint: zps[0] ?? 0,
    type: q.dataType === DataType.INT8 ? 'int8' : 'uint8',
  };
}

/** SQNR of a float initializer against its QuantizeLinear → DequantizeLinear round trip (per channel on the node's axis). */
function fakeQuantWeightSqnr(q: Node, inits: Map<string, TensorProto>): TensorSqnr | undefined {
  const w = inits.get(q.input[0] ?? '');
  const scaleT = inits.get(q.input[1] ?? '');
  if (w === undefined || scaleT === undefined || w.dataType !== DataType.FLOAT) return undefined;
  const zpT = inits.get(q.input[2] ?? '');
  const type: QuantType = zpT?.dataType === DataType.UINT8 ? 'uint8' : 'int8';
  const ref = tensorToFloat32(w);
  const scales = tensorToFloat32(scaleT);
  const zps = zpT ? tensorToFloat32(zpT) : new Float32Array(scales.length);
  const axisAttr = q.attribute.find((a) => a.name === 'axis')?.i ?? 1;
  const axis = axisAttr < 0 ? axisAttr + w.dims.length : axisAttr;
  const inner = scales.length === 1 ? ref.length : w.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    const c = scales.length === 1 ? 0 : Math.floor(i / inner) % scales.length;
    const p = { scale: scales[c]!, zeroPoint: zps[c]! };
    const d = ref[i]! - (quantizeValue(ref[i]!, p, type) - p.zeroPoint) * p.scale;
    signal += ref[i]! * ref[i]!;
    noise += d * d;
  }
  return { name: w.name, kind: 'weight', sqnrDb: ratioDb(signal, noise), scale: Math.max(...scales), zeroPoint: zps[0] ?? 0, type };
}

function scalarParams(scale: TensorProto | undefined, zp: TensorProto | undefined): ActivationParams | undefined {
  if (scale === undefined) return undefined;
  const s = tensorToFloat32(scale);
  if (s.length !== 1) return undefined;
  const type: QuantType = zp?.dataType === DataType.INT8 ? 'int8' : 'uint8';
  if (zp !== undefined && zp.dataType !== DataType.INT8 && zp.dataType !== DataType.UINT8) return undefined;
  return { scale: s[0]!, zeroPoint: zp ? tensorToFloat32(zp)[0]! : 0, type };
}

function stripSuffix(name: string): string {
  return name.replace(/_(quantized|q|int8|uint8)$/, '');
}

function ratioDb(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}
