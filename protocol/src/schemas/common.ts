/**
 * Building blocks shared by the message and document schemas: identifiers, hashes, times, integer ranges
 * and the enumerations (CPU architectures, inference backends, quantization presets) that several
 * schemas name. Every field carries a description, which the generated JSON Schema keeps.
 */
import { z } from 'zod';
import { DEVICE_ID_PATTERN } from '../topics.js';

/** Largest value of the 32-bit unsigned fields that also appear in binary frame headers. */
export const UINT32_MAX = 0xffffffff;

export const Uint32 = z.number().int().min(0).max(UINT32_MAX);
export const Uint16 = z.number().int().min(0).max(0xffff);
export const NonNegativeInt = z.number().int().nonnegative();
export const PositiveInt = z.number().int().positive();

/** Milliseconds since the Unix epoch (UTC). */
export const EpochMillis = z.number().int().nonnegative().describe('Milliseconds since the Unix epoch (UTC).');

/** An ISO 8601 date-time in UTC, e.g. `2025-11-25T18:47:00Z`. */
export const IsoDateTime = z.iso.datetime().describe('ISO 8601 date-time in UTC, e.g. 2025-11-25T18:47:00Z.');

export const DeviceId = z
  .string()
  .regex(DEVICE_ID_PATTERN, 'device id: 1-64 of [A-Za-z0-9._-]')
  .refine((id) => id !== '.' && id !== '..', 'device id may not be "." or ".."')
  .describe('Device id: 1-64 letters, digits, ".", "-" or "_"; it is one MQTT topic level.');

/** Ids of catalogue entries (device profiles) and names of artifacts: lower-case slugs. */
export const Slug = z.string().regex(/^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/, 'lower-case letters and digits joined by "-", "_" or "."').max(64);

export const ProfileId = Slug.describe('Device profile id, e.g. "rpi-5" or "jetson-orin-nano" (see devices/).');

export const Sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'SHA-256: 64 lower-case hex digits')
  .describe('SHA-256 digest as 64 lower-case hex digits.');

/** Semantic version 2.0.0 (https://semver.org), e.g. `1.4.0` or `2.0.0-rc.1+build.5`. */
export const SemVer = z
  .string()
  .max(128)
  .regex(
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/,
    'semantic version, e.g. 1.2.3',
  )
  .describe('Semantic version (semver 2.0.0), e.g. 1.2.3 or 2.0.0-rc.1.');

/** Value of each base64 alphabet character (RFC 4648 section 4), -1 for anything else. */
const BASE64_VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * Bytes that `text` decodes to when it is strict base64, else undefined. Strict: the standard alphabet
 * (`A-Z a-z 0-9 + /`), a length that is a multiple of 4, padding `=` only to complete the last group, no
 * whitespace or line breaks, and the bits padding leaves over set to zero (the canonical encoding, RFC
 * 4648 section 3.5), so that one byte string has exactly one text. A linear scan: a regular expression
 * with a quantified group overflows the regex stack on texts of hundreds of kilobytes.
 */
export function base64ByteLength(text: string): number | undefined {
  const n = text.length;
  if (n % 4 !== 0) return undefined;
  const pad = n === 0 || text[n - 1] !== '=' ? 0 : text[n - 2] === '=' ? 2 : 1;
  for (let i = 0; i < n - pad; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || BASE64_VALUES[c]! < 0) return undefined;
  }
  if (pad === 2 && (BASE64_VALUES[text.charCodeAt(n - 3)]! & 0x0f) !== 0) return undefined;
  if (pad === 1 && (BASE64_VALUES[text.charCodeAt(n - 2)]! & 0x03) !== 0) return undefined;
  return (n / 4) * 3 - pad;
}

/** The same rule as a regular expression, for the generated JSON Schema (validators there use their own engines). */
export const STRICT_BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$';

export const Base64 = z
  .string()
  .refine((text) => base64ByteLength(text) !== undefined, 'strict base64: standard alphabet, "=" padding to a multiple of 4, no whitespace, unused bits zero')
  .meta({ pattern: STRICT_BASE64_PATTERN, contentEncoding: 'base64' })
  .describe('Standard base64 (RFC 4648) with padding, canonical (unused bits zero), no whitespace.');

/** Free text meant for people: one line, bounded. */
export const Text = z.string().max(2000);

/** A path on the device: absolute, POSIX, no `..` segment. */
export const AbsolutePath = z
  .string()
  .max(1024)
  .regex(/^(?:\/|(?:\/[^/\0]+)+\/?)$/, 'an absolute POSIX path')
  .refine((p) => !p.split('/').includes('..'), 'path may not contain ".."')
  .describe('Absolute POSIX path on the device, without "..".');

/** A path inside a bundle or folder: relative, POSIX, no `..`, no leading `/`. */
export const RelativePath = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^/\0\\][^\0\\]*$/, 'a relative POSIX path')
  .refine((p) => p.split('/').every((s) => s !== '..' && s !== '.' && s !== ''), 'path segments may not be empty, "." or ".."')
  .describe('Relative POSIX path with "/" separators and no ".", ".." or empty segment.');

/** A regular expression in JavaScript syntax (also valid in most PCRE dialects for the patterns we use). */
export const RegexSource = z
  .string()
  .min(1)
  .max(500)
  .refine((source) => {
    try {
      new RegExp(source, 'u');
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression')
  .describe('Regular expression (ECMAScript syntax, compiled with the "u" flag).');

export const CpuArch = z
  .enum(['arm64', 'armv7', 'x64'])
  .describe('CPU architecture of the userland: arm64 (aarch64), armv7 (32-bit ARM, armhf) or x64.');
export type CpuArch = z.infer<typeof CpuArch>;

export const INFERENCE_BACKENDS = [
  'onnxruntime-node-cpu',
  'onnxruntime-node-cuda',
  'onnxruntime-node-tensorrt',
  'onnxruntime-web-wasm',
] as const;
export const InferenceBackend = z
  .enum(INFERENCE_BACKENDS)
  .describe(
    'Inference backend: onnxruntime-node with the CPU, CUDA or TensorRT execution provider, or onnxruntime-web WASM (single thread under Node).',
  );
export type InferenceBackend = z.infer<typeof InferenceBackend>;

export const QUANTIZATION_PRESETS = ['int8-qdq', 'int8-qdq-trt', 'fp16', 'fp32'] as const;
export const QuantizationPreset = z
  .enum(QUANTIZATION_PRESETS)
  .describe(
    'How models are prepared for a board: int8-qdq (int8 QDQ, asymmetric activations, for CPUs with dot-product), int8-qdq-trt (symmetric int8 QDQ as TensorRT wants it), fp16 (GPU), fp32 (no conversion).',
  );
export type QuantizationPreset = z.infer<typeof QuantizationPreset>;

/**
 * A coding action of the channel KB: how much of the encoder's output is sent and at what power.
 * `id` is the same action index that binary frame headers carry.
 */
export const Action = z
  .strictObject({
    id: Uint16.describe('Index of the action in the channel KB action table; the frame header carries the same number.'),
    ratePrefix: PositiveInt.max(2 ** 24).describe('Number of complex channel symbols sent: a prefix of the encoder output.'),
    power: z.number().positive().max(1000).describe('Transmit power scale, linear, relative to unit average symbol power.'),
  })
  .describe('Coding action chosen by the channel KB / policy.');
export type Action = z.infer<typeof Action>;

/** Channel models that quality figures and links refer to. */
export const ChannelModel = z
  .enum(['awgn', 'rayleigh', 'rician', 'gilbert-elliott', 'ota'])
  .describe('Channel: awgn, slow rayleigh or rician fading, gilbert-elliott bursty loss, or ota (over the air, a real radio).');
export type ChannelModel = z.infer<typeof ChannelModel>;

/** Optional `$schema` key so that documents written by people can point an editor at the JSON Schema. */
export const SchemaRef = z.string().max(512).optional().describe('Optional JSON Schema reference for editors; ignored by akb.');
