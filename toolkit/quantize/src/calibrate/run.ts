/**
 * Activation ranges by running the model in onnxruntime-node, samples one at a time, each folded into
 * per-tensor statistics (collector.ts) as it comes: no activation outlives its sample. Sessions run
 * with graph optimisation off (so every tensor exists as in the graph, as in onnxruntime's
 * calibrators) and onnxruntime's CPU arena on (without it, glibc's allocator fragmented to 2.5x the
 * peak RSS on a MobileNet, 789 MB instead of 322 MB).
 *
 * - Range pass (MinMax, and the first pass of the others): a copy of the graph with ReduceMin and
 *   ReduceMax of each tensor as extra outputs (probe.ts), so only a few numbers per tensor leave
 *   onnxruntime.
 * - Histogram pass: a copy of the graph that also outputs the tensors themselves (`withOutputs`).
 *
 * Samples given as an array are read twice for Entropy, Percentile and MSE (the range pass, then the
 * histogram pass over the range found), which reproduces onnxruntime `quantize_static`'s histograms
 * exactly; Entropy at its defaults needs no histogram (see `TensorCollector.usesHistogram`). Any
 * other iterable is read once, with histograms grown per sample (onnxruntime's per-batch rules,
 * histogram.ts).
 */
import { AkbError } from '@akb/protocol';
import * as ort from 'onnxruntime-node';
import { fromFloat16Bits } from '../onnx/float16.js';
import { encodeModel } from '../onnx/io.js';
import { topoSort, withOutputs } from '../onnx/graph.js';
import type { Model, Node } from '../onnx/types.js';
import { ortThreadOptions } from '@akb/jscc';
import { resolveCalibrationOptions, TensorCollector, type CalibrationMethod } from './collector.js';
import { firstNonFinite, nonFiniteName } from './finite.js';
import { checkSample, modelInputs } from './inputs.js';
import { probeOutputs, rangeProbeModel } from './probe.js';
import type { CalibrationSample, TensorRange } from './types.js';
import type { QuantType } from '../numerics/qparams.js';

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
  /** MSE: the activation type the ranges are for (default uint8, or int8 when symmetric). */
  activationType?: QuantType;
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

/** One sample's run; a failure is a one-line AkbError naming the sample. */
async function runSample(session: ort.InferenceSession, sample: CalibrationSample, fetch: string[], index: number): Promise<ort.InferenceSession.OnnxValueMapType> {
  if (fetch.length === 0) return {};
  try {
    return await session.run(sample, fetch);
  } catch (e) {
    throw new AkbError('MODEL_DOES_NOT_RUN', `the model failed to run on calibration sample ${index}: ${firstLine(e)}`, { cause: e });
  }
}

/** A tensor found holding a NaN or an infinity, and one such value. */
interface NonFiniteValue {
  tensor: string;
  value: number;
}

/**
 * The error for activations that are not finite on finite inputs (checkSample checked them): it names
 * the first such tensor in the graph's order, where the NaN or infinity starts, and its node.
 */
function nonFiniteActivation(model: Model, bad: readonly NonFiniteValue[], index: number): AkbError {
  const position = new Map<string, number>(model.graph.input.map((v) => [v.name, -1] as const));
  try {
    topoSort(model.graph).forEach((n, i) => {
      for (const o of n.output) if (o !== '' && !position.has(o)) position.set(o, i);
    });
  } catch {
    // a graph onnxruntime ran has an order; keep the order found
  }
  const first = [...bad].sort((a, b) => (position.get(a.tensor) ?? Infinity) - (position.get(b.tensor) ?? Infinity))[0]!;
  const producer: Node | undefined = model.graph.node.find((n) => n.output.includes(first.tensor));
  const node = producer ? ` (output of ${producer.opType} node '${producer.name || producer.opType}')` : '';
  const more = bad.length > 1 ? `, then in ${bad.length - 1} more calibrated tensor${bad.length > 2 ? 's' : ''}` : '';
  return new AkbError(
    'NON_FINITE_ACTIVATION',
    `calibration sample ${index}: the model computes ${nonFiniteName(first.value)} in '${first.tensor}'${node} from finite inputs${more}: cannot calibrate a non-finite activation`,
    { hint: 'check the weights that feed it with akb inspect, or keep the node in float with --exclude' },
  );
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
 * onnxruntime's MinMax, Entropy or Percentile method, or by MSE (see collector.ts for what each returns).
 * Throws one-line AkbErrors: a sample with a wrong input name, type or shape (naming the input and
 * the expected and actual type and shape) or with a NaN or infinity, an activation that is not finite
 * (naming the first such tensor and its node), a model onnxruntime cannot load or run, no samples.
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

  const threads = ortThreadOptions();
  const open = async (m: Model): Promise<ort.InferenceSession> => {
    try {
      return await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'], enableCpuMemArena: true, ...threads });
    } catch (e) {
      throw new AkbError('MODEL_DOES_NOT_RUN', `onnxruntime cannot load the model for calibration: ${firstLine(e)}`, { cause: e });
    }
  };

  const twoPass = resolved.method !== 'minmax' && Array.isArray(samples);
  const histogramPass = twoPass && [...collectors.values()].some((c) => c.usesHistogram);
  const total = Array.isArray(samples) ? samples.length * (histogramPass ? 2 : 1) : undefined;
  let done = 0;

  /** Runs every sample through `session`, fetching `fetch`, and hands the outputs to `fold`. */
  const pass = async (
    session: ort.InferenceSession,
    fetch: string[],
    fold: (sample: CalibrationSample, out: ort.InferenceSession.OnnxValueMapType, index: number) => void | Promise<void>,
  ): Promise<number> => {
    let index = 0;
    try {
      for await (const sample of samples) {
        checkSample(sample, inputs, index);
        await fold(sample, await runSample(session, sample, fetch, index), index);
        index++;
        done++;
        opts.onProgress?.(done, total);
      }
    } finally {
      await session.release();
    }
    return index;
  };
  const valueOf = (sample: CalibrationSample, out: ort.InferenceSession.OnnxValueMapType, name: string): ort.Tensor => {
    const v = inputNames.has(name) ? sample[name] : out[name];
    if (v === undefined) throw new AkbError('MODEL_DOES_NOT_RUN', `onnxruntime returned no value for tensor '${name}'`);
    return v;
  };

  let count: number;
  if (resolved.method === 'minmax' || twoPass) {
    // Range pass: onnxruntime reduces each tensor to its min, max and sum (and min |x|) in the graph.
    const withMinAbs = [...collectors.values()].some((c) => c.needsMinAbs);
    const { model: probeModel, probes } = rangeProbeModel(model, names, withMinAbs);
    const probeFetch = [...probes.values()].flatMap(probeOutputs);
    // Opened only when a sum is not finite while min and max are: the values then tell a NaN (which
    // ReduceMin / ReduceMax skip) from a sum of large finite values that overflowed.
    let valuesSession: ort.InferenceSession | undefined;
    try {
      count = await pass(await open(probeModel), probeFetch, async (sample, out, index) => {
        const bad: NonFiniteValue[] = [];
        const unsure = new Map<string, number[]>();
        for (const [name, c] of collectors) {
          const p = probes.get(name)!;
          const first = (n: string): number => floatValues(name, valueOf({}, out, n))[0] ?? NaN;
          const [min, max, sum, minAbs] = [first(p.min), first(p.max), first(p.sum), p.minAbs ? first(p.minAbs) : Infinity];
          if (min === Infinity && max === -Infinity) continue; // no values (a zero-sized dimension)
          if (!Number.isFinite(min) || !Number.isFinite(max)) bad.push({ tensor: name, value: Number.isNaN(min) || Number.isNaN(max) ? NaN : Number.isFinite(max) ? min : max });
          else if (!Number.isFinite(sum)) unsure.set(name, [min, max, minAbs]);
          else c.observeRangeValues(min, max, minAbs);
        }
        if (unsure.size > 0) {
          valuesSession ??= await open(withOutputs(model, fetches));
          const values = await runSample(valuesSession, sample, fetches.filter((n) => unsure.has(n)), index);
          for (const [name, [min, max, minAbs]] of unsure) {
            const data = floatValues(name, valueOf(sample, values, name));
            const i = firstNonFinite(data);
            if (i !== -1) bad.push({ tensor: name, value: data[i]! });
            else collectors.get(name)!.observeRangeValues(min!, max!, minAbs!);
          }
        }
        if (bad.length > 0) throw nonFiniteActivation(model, bad, index);
      });
    } finally {
      await valuesSession?.release();
    }
    if (histogramPass && count > 0) {
      for (const c of collectors.values()) c.startHistogram();
      // the same samples through the same kernels: their values were found finite in the range pass
      await pass(await open(withOutputs(model, fetches)), fetches, (sample, out) => {
        for (const [name, c] of collectors) c.observeHistogram(floatValues(name, valueOf(sample, out, name)));
      });
    }
  } else {
    count = await pass(await open(withOutputs(model, fetches)), fetches, (sample, out, index) => {
      const values = new Map([...collectors.keys()].map((name) => [name, floatValues(name, valueOf(sample, out, name))] as const));
      const bad: NonFiniteValue[] = [];
      for (const [name, data] of values) {
        const i = firstNonFinite(data);
        if (i !== -1) bad.push({ tensor: name, value: data[i]! });
      }
      if (bad.length > 0) throw nonFiniteActivation(model, bad, index);
      for (const [name, c] of collectors) c.observeStreaming(values.get(name)!);
    });
  }
  if (count === 0) throw new AkbError('BAD_CALIBRATION_DATA', 'no calibration samples: at least one is needed');
  return new Map([...collectors].map(([n, c]) => [n, c.result()] as const));
}
