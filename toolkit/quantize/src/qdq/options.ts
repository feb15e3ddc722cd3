/** Options and results of the QDQ quantizer, and the options after defaults are applied. */
import type { QuantType } from '../numerics/qparams.js';
import type { Model } from '../onnx/types.js';
import { PLACEMENTS, type QdqPlacement } from './placement.js';

/** Options of `quantizeQdq` and `tensorsToCalibrate`. */
export interface QdqOptions {
  /** Activation type: 'uint8' (U8S8, onnxruntime's CPU default) or 'int8' (S8S8). */
  activationType: QuantType;
  /** Weight type: 'int8' (symmetric) or 'uint8' (asymmetric per tensor; U8U8). */
  weightType: QuantType;
  /** Per-channel weights (Conv axis 0, ConvTranspose 1, MatMul last, Gemm by transB). */
  perChannel: boolean;
  /** Symmetric activation ranges (zero point 0 for int8, 128 for uint8). Default false. */
  symmetricActivations?: boolean;
  /** 7-bit weights for x64 CPUs without VNNI. Default false. */
  reduceRange?: boolean;
  /**
   * TensorRT explicit quantization: symmetric int8 activations and weights (zero points 0), weights
   * kept float behind a Q/DQ pair, biases float, no Q/DQ on the outputs of Conv/Gemm/MatMul, and one
   * Q/DQ pair per consuming node. Overrides the type and symmetry options.
   */
  tensorRt?: boolean;
  /** Where Q/DQ pairs go (placement.ts): 'onnxruntime' (default) or 'weighted-inputs'. */
  placement?: QdqPlacement;
  /** Node names to keep in float. */
  excludeNodes?: string[];
  /** Op types to keep in float. */
  excludeOpTypes?: string[];
}

/** One node left in float and why. */
export interface SkippedNode {
  node: string;
  opType: string;
  reason: string;
}

/** The quantized model and what was done to it. */
export interface QdqResult {
  model: Model;
  /** Nodes with at least one quantized input or output (Relu/Clip fused into their producer included). */
  quantizedNodes: string[];
  /** Nodes computing float values that were left unquantized, with the reason. */
  skipped: SkippedNode[];
}

/** Options with defaults applied and TensorRT overrides resolved. */
export interface ResolvedQdqOptions {
  activationType: QuantType;
  weightType: QuantType;
  perChannel: boolean;
  symmetricActivations: boolean;
  reduceRange: boolean;
  tensorRt: boolean;
  placement: QdqPlacement;
  excludeNodes: ReadonlySet<string>;
  excludeOpTypes: ReadonlySet<string>;
}

const QUANT_TYPES: readonly string[] = ['int8', 'uint8'];

/** Applies defaults, checks the types, and forces symmetric int8 in TensorRT mode. */
export function resolveQdqOptions(opts: QdqOptions): ResolvedQdqOptions {
  for (const [key, value] of [['activationType', opts.activationType], ['weightType', opts.weightType]] as const) {
    if (!QUANT_TYPES.includes(value)) throw new TypeError(`${key} must be 'int8' or 'uint8', got ${JSON.stringify(value)}`);
  }
  const trt = opts.tensorRt === true;
  return {
    activationType: trt ? 'int8' : opts.activationType,
    weightType: trt ? 'int8' : opts.weightType,
    perChannel: opts.perChannel,
    symmetricActivations: trt || opts.symmetricActivations === true,
    reduceRange: !trt && opts.reduceRange === true,
    tensorRt: trt,
    placement: resolvePlacement(opts.placement),
    excludeNodes: new Set(opts.excludeNodes ?? []),
    excludeOpTypes: new Set(opts.excludeOpTypes ?? []),
  };
}

function resolvePlacement(p: QdqPlacement | undefined): QdqPlacement {
  if (p === undefined) return 'onnxruntime';
  if (!PLACEMENTS.includes(p)) throw new TypeError(`placement must be one of ${PLACEMENTS.join(', ')}, got ${JSON.stringify(p)}`);
  return p;
}
