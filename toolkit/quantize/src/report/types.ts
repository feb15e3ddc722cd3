/** The quantization report: what `quantizeModel` returns and `akb quantize --json` prints. */
import type { PtqReport } from '../ptq/pipeline.js';
import type { JsccEvaluation } from '../jscc/evaluate.js';
import type { SensitivityResult } from '../sensitivity/search.js';
import type { ModelWarning } from './warnings.js';

/** Quantization error of one activation or weight, measured in isolation. */
export interface TensorSqnr {
  name: string;
  kind: 'activation' | 'weight';
  /** float vs its fake-quantized value (quantize, dequantize with the model's parameters), dB. */
  sqnrDb: number;
  /** Per-tensor scale (activations) or the largest per-channel scale (weights). */
  scale: number;
  zeroPoint: number;
  type: string;
}

/** One output's end-to-end SQNR on the held-out rows. */
export interface OutputSqnr {
  name: string;
  sqnrDb: number;
}

export interface QuantizeReport {
  input: { path: string; bytes: number };
  output: { path: string; bytes: number };
  /** Output bytes / input bytes. */
  sizeRatio: number;
  preset: { name: string; mode: string; activationType?: string; weightType?: string; placement?: string; perChannel: boolean; reason: string; cardPreset: string; device?: string };
  /** The model card written beside the output, or why none was. */
  card?: { path: string } | { skipped: string };
  calibration?: { method: string; samples: number; source: string; seconds: number };
  heldOut: { samples: number; source: string };
  /** Nodes computing in int8 (int8/trt/weight-only) or float16 (fp16). */
  quantizedNodes: number;
  /** Float-computing nodes left in float, and why (excluded, unsupported, sensitivity). */
  leftInFloat: { node: string; opType: string; reason: string }[];
  /**
   * SQNR over every value of every float output on the held-out rows, dB (Infinity when identical), with
   * onnxruntime's CPU kernels on this machine (QDQ groups fused into integer kernels).
   */
  outputSqnrDb: number;
  /** The same with onnxruntime's optimizations off: the QDQ reference semantics, the same on every machine. */
  referenceSqnrDb: number;
  outputs: OutputSqnr[];
  /** Per-tensor SQNR, lowest first. */
  tensors: TensorSqnr[];
  latency: { runs: number; floatMs: number; quantizedMs: number; ratio: number };
  /** PSNR through the channel with onnxruntime's kernels on this CPU. */
  jscc?: JsccEvaluation | { skipped: string };
  /** The same in the QDQ reference semantics (optimizations off), which ARM boards with the dot product reproduce. */
  jsccReference?: JsccEvaluation;
  /** The accuracy-driven search, and the semantics its candidates were scored with. */
  sensitivity?: SensitivityResult & { semantics: 'kernels' | 'reference' };
  /** What the post-training methods did (ptq/pipeline.ts), when any ran. */
  ptq?: PtqReport;
  /**
   * Suspicious numbers, one line each (also printed on stderr by `akb quantize`): weights holding NaN or
   * infinities or absurd outliers, calibrated activation ranges beyond ±1e6 (warnings.ts gives the rules).
   */
  warnings: ModelWarning[];
  seconds: number;
  peakRssMb: number;
}
