/**
 * Activation ranges by running the model: a copy of the graph that also outputs the requested tensors
 * (`withOutputs`), one onnxruntime-node session with graph optimisation off (so the tensors exist as
 * in the graph, as onnxruntime's calibrators do it), samples run one at a time and folded into
 * per-tensor statistics (collector.ts) as they come: no activation outlives its sample.
 *
 * Samples given as an array are read twice for Entropy and Percentile (a range pass, then a histogram
 * pass), which reproduces onnxruntime `quantize_static`'s histograms exactly; any other iterable is
 * read once and the histograms grow per sample (onnxruntime's per-batch rules, histogram.ts).
 */
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import { fromFloat16Bits } from '../onnx/float16.js';
import { encodeModel } from '../onnx/io.js';
import { withOutputs } from '../onnx/graph.js';
import type { Model } from '../onnx/types.js';
import { resolveCalibrationOptions, TensorCollector, type CalibrationMethod } from './collector.js';
import { checkSample, modelInputs } from './inputs.js';
import type { CalibrationSample, TensorRange } from './types.js';

/** Options of `calibrate`; unset values take onnxruntime's defaults for the method. */
export interface CalibrateOptions {
  method: CalibrationMethod;
  /** MinMax and Entropy: make the range [-a, a]. Percentile: histogram of |x| (default true, as onnxruntime). */
  symmetric?: boolean;
  /** Percentile to keep, default 99.999. */
  percentile?: number;
  /** Histogram bins: 128 for Entropy, 2048 for Percentile (onnxruntime's defaults). */
  numBins?: number;
  /** Entropy's quantized bins, default 128. */
  numQuantizedBins?: number;
  /** MinMax: the mean over samples of each sample's min and max instead of the extremes. */
  movingAverage?: boolean;
  /** Called after each sample run: runs done and the total when known (two passes count twice). */
  onProgress?: (done: number, total?: number) => void;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}

/** A float tensor's values as float32 (float16 and float64 converted); other types are refused. */
function floatValues(name: string, t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const d = t.data as unknown;
    return d instanceof Uint16Array ? fromFloat16Bits(d) : Float32Array.from(d as ArrayLike<number>);
  }
  if (t.type === 'float64') return Float32Array.from(t.data as Float64Array);
  throw new AkbError('BAD_CALIBRATION_TENSOR', `tensor '${name}' is ${t.type}: only float tensors can be calibrated`);
}

/** Checks that every requested tensor is an activation of the model (a node output or a graph input). */
function checkTensors(model: Model, tensors: readonly string[]): void {
  const produced = new Set<string>(model.graph.input.map((v) => v.name));
  for (const n of model.graph.node) for (const o of n.output) if (o !== '') produced.add(o);
  const inits = new Set(model.graph.initializer.map((t) => t.name));
  for (const t of tensors) {
    if (inits.has(t) && !model.graph.node.some((n) => n.output.includes(t))) {
      throw new AkbError('BAD_CALIBRATION_TENSOR', `tensor '${t}' is an initializer (a constant), not an activation to calibrate`);
    }
    if (!produced.has(t)) throw new AkbError('BAD_CALIBRATION_TENSOR', `tensor '${t}' is not produced by any node of the model`);
  }
}

/**
 * Runs the model on the samples and returns the calibrated range of each requested tensor, by
 * onnxruntime's MinMax, Entropy or Percentile method (see collector.ts for what each returns).
 * Throws one-line AkbErrors: a sample with a wrong input name, type or shape (naming the input and
 * the expected and actual type and shape), a model onnxruntime cannot load or run, no samples.
 */
export async function calibrate(
  model: Model,
  samples: Iterable<CalibrationSample> | AsyncIterable<CalibrationSample>,
  tensors: string[],
  opts: CalibrateOptions,
): Promise<Map<string, TensorRange>> {
  const resolved = resolveCalibrationOptions(opts);
  const names = [...new Set(tensors)];
  checkTensors(model, names);
  const inputs = modelInputs(model);
  const inputNames = new Set(inputs.map((i) => i.name));
  const fetches = names.filter((n) => !inputNames.has(n));
  const collectors = new Map(names.map((n) => [n, new TensorCollector(n, resolved)] as const));

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(withOutputs(model, fetches)), {
      graphOptimizationLevel: 'disabled',
      executionProviders: ['cpu'],
      enableCpuMemArena: false,
    });
  } catch (e) {
    throw new AkbError('MODEL_DOES_NOT_RUN', `onnxruntime cannot load the model for calibration: ${firstLine(e)}`, { cause: e });
  }

  const twoPass = resolved.method !== 'minmax' && Array.isArray(samples);
  const total = Array.isArray(samples) ? samples.length * (twoPass ? 2 : 1) : undefined;
  let done = 0;

  const pass = async (fold: (c: TensorCollector, data: Float32Array) => void): Promise<number> => {
    let index = 0;
    for await (const sample of samples) {
      checkSample(sample, inputs, index);
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = fetches.length > 0 ? await session.run(sample, fetches) : {};
      } catch (e) {
        throw new AkbError('MODEL_DOES_NOT_RUN', `the model failed to run on calibration sample ${index}: ${firstLine(e)}`, { cause: e });
      }
      for (const [name, c] of collectors) {
        const value = inputNames.has(name) ? sample[name] : out[name];
        if (value === undefined) throw new AkbError('MODEL_DOES_NOT_RUN', `onnxruntime returned no value for tensor '${name}'`);
        fold(c, floatValues(name, value));
      }
      index++;
      done++;
      opts.onProgress?.(done, total);
    }
    return index;
  };

  try {
    let count: number;
    if (twoPass) {
      count = await pass((c, d) => c.observeRange(d));
      for (const c of collectors.values()) c.startHistogram();
      if (count > 0) await pass((c, d) => c.observeHistogram(d));
    } else if (resolved.method === 'minmax') {
      count = await pass((c, d) => c.observeRange(d));
    } else {
      count = await pass((c, d) => c.observeStreaming(d));
    }
    if (count === 0) throw new AkbError('BAD_CALIBRATION_DATA', 'no calibration samples: at least one is needed');
  } finally {
    await session.release();
  }
  return new Map([...collectors].map(([n, c]) => [n, c.result()] as const));
}
