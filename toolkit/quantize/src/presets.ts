/**
 * Quantization presets, and the preset a device profile gets.
 *
 * Presets: `int8` (static QDQ, U8S8: uint8 activations, int8 per-channel weights, onnxruntime's CPU
 * default and the best choice on x64), `int8-s8s8` (int8 activations too, for ARM CPUs with the
 * dot-product extension), `trt` (TensorRT explicit quantization: symmetric int8, zero points 0, one
 * QDQ pair per consumer), `fp16` (float16 inside, float32 inputs and outputs), `weight-only` (int8
 * weights dequantized at load, float32 compute). The protocol's names `int8-qdq` and `int8-qdq-trt`
 * are accepted for `int8` and `trt`.
 *
 * A device profile (devices/<family>/*.profile.json) names its preset in its `quantization` field, and
 * that field is the only source: profiles are data (DESIGN.md), so `akb quantize --profile <id>` writes a
 * model whose card says exactly the profile's `quantization`, and nothing here second-guesses it from the
 * backends or the GPU. The field maps as follows (NOTES-quantization.md says why):
 * - `int8-qdq-trt` → `trt` (Jetson Orin Nano, Xavier NX): TensorRT builds int8 engines only from
 *   symmetric QDQ, and the same file runs int8 on onnxruntime's CPU provider, which is all npm's
 *   onnxruntime-node gives on arm64;
 * - `int8-qdq` → `int8-s8s8` on an arm64 CPU with `asimddp` (Raspberry Pi 5: onnxruntime runs int8
 *   activations natively on ARM with the dot product), otherwise `int8` (U8S8, onnxruntime's x64 kernels);
 * - `fp16` → `fp16`;
 * - `fp32` (Raspberry Pi Zero 2 W/3/4, Jetson Nano: Cortex-A53/A72/A57 without the dot product, where int8
 *   kernels run no faster than fp32 and can run slower) → `weight-only`: the file gets 4x smaller and the
 *   compute stays fp32, so its card says `fp32`. `reduceRange` (7-bit weights) is not used for these: it
 *   works around int16 saturation in x64 kernels without VNNI and buys nothing on ARM.
 */
import type { CalibrationMethod } from './calibrate/index.js';
import type { PtqSteps } from './ptq/pipeline.js';
import { AkbError } from '@akb/protocol';
import type { QuantType } from './numerics/qparams.js';
import type { QdqPlacement } from './qdq/placement.js';

export type QuantizeMode = 'int8' | 'trt' | 'fp16' | 'weight-only';

/** Everything a preset decides. */
export interface Preset {
  name: string;
  mode: QuantizeMode;
  activationType: QuantType;
  weightType: QuantType;
  perChannel: boolean;
  symmetricActivations: boolean;
  reduceRange: boolean;
  /** The protocol's name for what the output is (model card `quantization`). */
  cardPreset: 'int8-qdq' | 'int8-qdq-trt' | 'fp16' | 'fp32';
  /** Why this preset, for the report. */
  reason: string;
  /** The device profile it was chosen for, when one was (the model will run on another machine than this). */
  device?: string;
  /** Post-training methods on by default (issue 16; the options and flags override each). */
  ptq?: PtqSteps;
  /** Where Q/DQ pairs go (qdq/placement.ts); 'onnxruntime' when absent. */
  placement?: QdqPlacement;
  /** Calibration method by default (the option and --method override it; minmax otherwise). */
  method?: CalibrationMethod;
}

const base = { perChannel: true, symmetricActivations: false, reduceRange: false };
/** Every post-training method on (bench/quantize/ptq.ts measures what each buys). */
const ACCURATE = { ptq: { cle: true, adaround: true, biasCorrection: true }, method: 'mse' } as const;

/** The named presets. */
export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  int8: { ...base, name: 'int8', mode: 'int8', activationType: 'uint8', weightType: 'int8', cardPreset: 'int8-qdq', reason: 'static int8 QDQ, U8S8 (onnxruntime CPU default)' },
  'int8-s8s8': { ...base, name: 'int8-s8s8', mode: 'int8', activationType: 'int8', weightType: 'int8', cardPreset: 'int8-qdq', reason: 'static int8 QDQ, S8S8 (ARM with dot product)' },
  trt: { ...base, name: 'trt', mode: 'trt', activationType: 'int8', weightType: 'int8', symmetricActivations: true, cardPreset: 'int8-qdq-trt', reason: 'TensorRT explicit quantization: symmetric int8, zero points 0' },
  fp16: { ...base, name: 'fp16', mode: 'fp16', activationType: 'uint8', weightType: 'int8', cardPreset: 'fp16', reason: 'float16 weights and compute, float32 inputs and outputs' },
  'weight-only': { ...base, name: 'weight-only', mode: 'weight-only', activationType: 'uint8', weightType: 'int8', cardPreset: 'fp32', reason: 'int8 weights, float32 compute' },
  'int8-accurate': { ...base, ...ACCURATE, name: 'int8-accurate', mode: 'int8', activationType: 'uint8', weightType: 'int8', cardPreset: 'int8-qdq', reason: 'static int8 QDQ, U8S8, with cross-layer equalization, adaptive rounding, bias correction and MSE ranges' },
  'int8-s8s8-accurate': { ...base, ...ACCURATE, name: 'int8-s8s8-accurate', mode: 'int8', activationType: 'int8', weightType: 'int8', cardPreset: 'int8-qdq', reason: 'static int8 QDQ, S8S8, with cross-layer equalization, adaptive rounding, bias correction and MSE ranges' },
  'trt-accurate': { ...base, ...ACCURATE, name: 'trt-accurate', mode: 'trt', activationType: 'int8', weightType: 'int8', symmetricActivations: true, placement: 'weighted-inputs', cardPreset: 'int8-qdq-trt', reason: 'TensorRT explicit quantization, Q/DQ on the inputs of weighted ops only (TensorRT fuses what lies between), with cross-layer equalization, adaptive rounding, bias correction and MSE ranges' },
});

const ALIASES: Readonly<Record<string, string>> = { 'int8-qdq': 'int8', 'int8-qdq-trt': 'trt', u8s8: 'int8', s8s8: 'int8-s8s8' };

/** The preset called `name` (or an alias), undefined when there is none. */
export function presetByName(name: string): Preset | undefined {
  return PRESETS[ALIASES[name] ?? name];
}

/** The fields of a device profile the mapping reads (the protocol's DeviceProfile has them all). */
export interface ProfileLike {
  id: string;
  name: string;
  quantization: string;
  cpu: { arch: string; model: string; features?: string[] };
}

/**
 * The preset for a device profile, from its `quantization` field alone (its card preset is that field),
 * with the reason in terms of the board.
 */
export function presetForProfile(profile: ProfileLike): Preset {
  const withReason = (p: Preset, reason: string): Preset => ({ ...p, reason: `${profile.id}: ${reason}`, device: profile.id });
  switch (profile.quantization) {
    case 'int8-qdq-trt':
      return withReason(PRESETS.trt!, `the profile prepares symmetric int8 QDQ: TensorRT builds int8 engines from it, and the same file runs int8 on the ${profile.cpu.model} CPU`);
    case 'int8-qdq':
      return profile.cpu.arch === 'arm64' && (profile.cpu.features ?? []).includes('asimddp')
        ? withReason(PRESETS['int8-s8s8']!, `the ${profile.cpu.model} has the dot product (asimddp): onnxruntime runs int8 activations natively (S8S8)`)
        : withReason(PRESETS.int8!, `int8 QDQ on ${profile.cpu.arch}: U8S8, the activation type onnxruntime's x64 kernels use`);
    case 'fp16':
      return withReason(PRESETS.fp16!, 'the profile prepares models in fp16');
    case 'fp32':
      return withReason(PRESETS['weight-only']!, `the profile keeps fp32 compute (the ${profile.cpu.model} gains nothing from int8 kernels): int8 weights (4x smaller file), fp32 compute`);
    default:
      throw new AkbError('BAD_PROFILE', `${profile.id}: unknown quantization preset "${profile.quantization}"`, {
        hint: 'a profile\'s quantization is one of int8-qdq, int8-qdq-trt, fp16, fp32',
      });
  }
}

/** Names accepted by `--profile` besides device profile ids. */
export function presetNames(): string[] {
  return [...Object.keys(PRESETS), ...Object.keys(ALIASES)];
}
