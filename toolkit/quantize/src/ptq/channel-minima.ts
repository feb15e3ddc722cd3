/**
 * Per-channel minima of tensors over calibration samples, for bias absorption (cle.ts): the smallest
 * value channel c (axis 1, as Conv and ConvTranspose lay out their outputs) took in any sample and at
 * any position. Runs the model in onnxruntime-node with the tensors as extra outputs, graph
 * optimization off (every tensor exists as in the graph), one sample at a time.
 */
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import { ortThreadOptions } from '@akb/jscc';
import { withOutputs } from '../onnx/graph.js';
import { encodeModel } from '../onnx/io.js';
import type { Model } from '../onnx/types.js';
import type { CalibrationSample } from '../calibrate/types.js';

/** Channel (axis 1) minima of each named tensor over all samples. */
export async function channelMinima(model: Model, samples: Iterable<CalibrationSample>, tensors: readonly string[]): Promise<Map<string, Float32Array>> {
  const names = [...new Set(tensors)];
  const minima = new Map<string, Float32Array>();
  if (names.length === 0) return minima;
  const session = await ort.InferenceSession.create(encodeModel(withOutputs(model, names)), { graphOptimizationLevel: 'disabled', ...ortThreadOptions() });
  try {
    for (const sample of samples) {
      const out = await session.run(sample, names);
      for (const name of names) {
        const t = out[name]!;
        if (t.type !== 'float32' || t.dims.length < 2) {
          throw new AkbError('BAD_CALIBRATION_TENSOR', `tensor '${name}' is ${t.type} [${t.dims.join(', ')}]: channel minima need a float32 tensor of rank >= 2`);
        }
        const data = t.data as Float32Array;
        const [n, c] = [Number(t.dims[0]), Number(t.dims[1])];
        const inner = data.length / (n * c);
        const mins = minima.get(name) ?? new Float32Array(c).fill(Infinity);
        for (let b = 0; b < n; b++) {
          for (let ch = 0; ch < c; ch++) {
            let m = mins[ch]!;
            const base = (b * c + ch) * inner;
            for (let i = base; i < base + inner; i++) if (data[i]! < m) m = data[i]!;
            mins[ch] = m;
          }
        }
        minima.set(name, mins);
      }
    }
  } finally {
    await session.release();
  }
  return minima;
}
