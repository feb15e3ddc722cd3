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
 * A device profile (devices/{jetson,rpi}/*.profile.json) maps as follows, from NOTES-quantization.md:
 * - a TensorRT backend on a GPU of compute capability ≥ 6.1 (int8 in TensorRT; Jetson Xavier NX 7.2,
 *   Orin Nano 8.7) → `trt`: TensorRT builds int8 engines only from symmetric QDQ, and the same file runs
 *   int8 on onnxruntime's CPU provider, which is what npm's onnxruntime-node gives on arm64 (those CPUs
 *   have the dot product);
 * - a profile whose preset is `int8-qdq` → `int8-s8s8` on an arm64 CPU with `asimddp` (Raspberry Pi 5:
 *   onnxruntime runs int8 activations natively on ARM; on x64 it rewrites them to uint8 anyway),
 *   otherwise `int8` (U8S8);
 * - a profile whose preset is `fp16` without TensorRT → `fp16`;
 * - a profile whose preset is `fp32` (Raspberry Pi 3/4, Jetson Nano: Cortex-A53/A72/A57 without the dot
 *   product, where int8 kernels run no faster than fp32 and can run slower) → `weight-only`: the file
 *   gets 4x smaller and the compute stays fp32. `reduceRange` (7-bit weights) is not used for these: it
 *   works around int16 saturation in x64 kernels without VNNI and buys nothing on ARM.
 */
import { AkbError } from '@akb/protocol';
import type { QuantType } from './numerics/qparams.js';

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
}

const base = { perChannel: true, symmetricActivations: false, reduceRange: false };

/** The named presets. */
export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  int8: { ...base, name: 'int8', mode: 'int8', activationType: 'uint8', weightType: 'int8', cardPreset: 'int8-qdq', reason: 'static int8 QDQ, U8S8 (onnxruntime CPU default)' },
  'int8-s8s8': { ...base, name: 'int8-s8s8', mode: 'int8', activationType: 'int8', weightType: 'int8', cardPreset: 'int8-qdq', reason: 'static int8 QDQ, S8S8 (ARM with dot product)' },
  trt: { ...base, name: 'trt', mode: 'trt', activationType: 'int8', weightType: 'int8', symmetricActivations: true, cardPreset: 'int8-qdq-trt', reason: 'TensorRT explicit quantization: symmetric int8, zero points 0' },
  fp16: { ...base, name: 'fp16', mode: 'fp16', activationType: 'uint8', weightType: 'int8', cardPreset: 'fp16', reason: 'float16 weights and compute, float32 inputs and outputs' },
  'weight-only': { ...base, name: 'weight-only', mode: 'weight-only', activationType: 'uint8', weightType: 'int8', cardPreset: 'fp32', reason: 'int8 weights, float32 compute' },
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
  accelerators?: { kind: string; name: string; computeCapability?: string }[];
  backends: string[];
}

/** The preset for a device profile, with the reason in terms of the board. */
export function presetForProfile(profile: ProfileLike): Preset {
  const gpu = (profile.accelerators ?? []).find((a) => a.kind === 'gpu' && a.computeCapability !== undefined);
  const cc = gpu?.computeCapability ? Number(gpu.computeCapability) : NaN;
  const withReason = (p: Preset, reason: string): Preset => ({ ...p, reason: `${profile.id}: ${reason}`, device: profile.id });
  if (profile.backends.includes('onnxruntime-node-tensorrt') && cc >= 6.1) {
    return withReason(PRESETS.trt!, `TensorRT on compute capability ${gpu!.computeCapability} runs int8 from symmetric QDQ; the same file runs int8 on the ${profile.cpu.model} CPU`);
  }
  const dot = (profile.cpu.features ?? []).includes('asimddp');
  switch (profile.quantization) {
    case 'int8-qdq':
    case 'int8-qdq-trt':
      return profile.cpu.arch === 'arm64' && dot
        ? withReason(PRESETS['int8-s8s8']!, `the ${profile.cpu.model} has the dot product (asimddp): onnxruntime runs int8 activations natively (S8S8)`)
        : withReason(PRESETS.int8!, `int8 QDQ on ${profile.cpu.arch}: U8S8, the activation type onnxruntime's x64 kernels use`);
    case 'fp16':
      return withReason(PRESETS.fp16!, 'the profile prepares models in fp16');
    case 'fp32':
      return withReason(PRESETS['weight-only']!, `the ${profile.cpu.model} has no dot product, so int8 compute is no faster than fp32: int8 weights (4x smaller file), fp32 compute`);
    default:
      throw new AkbError('BAD_PROFILE', `${profile.id}: unknown quantization preset "${profile.quantization}"`);
  }
}

/** Names accepted by `--profile` besides device profile ids. */
export function presetNames(): string[] {
  return [...Object.keys(PRESETS), ...Object.keys(ALIASES)];
}
