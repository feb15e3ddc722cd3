/**
 * Model cards: the JSON that ships beside every ONNX model (`<model>.card.json`). Runtimes read shapes,
 * names and ranges from the card and never hard-code them, so a user's own model drops in.
 */
import { z } from 'zod';
import { ChannelModel, IsoDateTime, NonNegativeInt, PositiveInt, QuantizationPreset, SchemaRef, SemVer, Sha256Hex, Slug, Text } from './common.js';

export const MODEL_ROLES = ['encoder', 'decoder', 'policy', 'vision-encoder', 'embedder'] as const;
export const ModelRole = z
  .enum(MODEL_ROLES)
  .describe('encoder (image to channel symbols), decoder (symbols to image), policy (channel state to action), vision-encoder (the LVM agent), embedder (image to KB embedding).');
export type ModelRole = z.infer<typeof ModelRole>;

export const TensorDtype = z
  .enum(['float32', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool'])
  .describe('Element type, with ONNX tensor type names in lower case.');
export type TensorDtype = z.infer<typeof TensorDtype>;

/** A dimension: a fixed size, or a symbolic name such as `batch` or `k`. */
export const Dimension = z
  .union([
    NonNegativeInt.max(2 ** 31 - 1),
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'symbolic dimension: an identifier'),
  ])
  .describe('Fixed size (integer) or symbolic name (identifier, e.g. "batch").');
export type Dimension = z.infer<typeof Dimension>;

export const TensorSpec = z
  .strictObject({
    name: z.string().min(1).max(256).describe('Tensor name in the ONNX graph.'),
    dtype: TensorDtype,
    shape: z.array(Dimension).max(8).describe('Shape, outermost first; [] for a scalar.'),
    range: z
      .strictObject({
        min: z.number().describe('Smallest value.'),
        max: z.number().describe('Largest value.'),
      })
      .refine((r) => r.min <= r.max, { message: 'min exceeds max', path: ['min'] })
      .optional()
      .describe('Value range the model expects (inputs) or produces (outputs), e.g. [0, 1] for images.'),
    layout: z.string().regex(/^[A-Z]{1,8}$/).optional().describe('Axis letters, e.g. "NCHW".'),
    description: Text.optional().describe('What the tensor holds.'),
  })
  .describe('One input or output tensor.');
export type TensorSpec = z.infer<typeof TensorSpec>;

const uniqueNames = (tensors: readonly { name: string }[]): boolean => new Set(tensors.map((t) => t.name)).size === tensors.length;

export const QualityPoint = z
  .strictObject({
    metric: z.enum(['psnr', 'ssim', 'ms-ssim', 'lpips', 'accuracy']).describe('What was measured.'),
    snr: z.number().min(-100).max(100).describe('Channel SNR of the measurement, dB.'),
    channel: ChannelModel,
    value: z.number().describe('Measured value (dB for psnr).'),
    bandwidthRatio: z.number().positive().max(1).optional().describe('Bandwidth ratio k/n of the measurement.'),
    dataset: z.string().max(200).optional().describe('Test set, e.g. "kodak" or "cifar10-test".'),
  })
  .describe('One measured quality figure.');
export type QualityPoint = z.infer<typeof QualityPoint>;

export const ModelCard = z
  .strictObject({
    $schema: SchemaRef,
    v: z.literal(1).describe('Model card format version.'),
    name: Slug.describe('Model name, e.g. "akb-jscc-encoder".'),
    version: SemVer.describe('Model version.'),
    role: ModelRole,
    description: Text.optional().describe('What the model is, for people.'),
    license: z.string().max(100).optional().describe('SPDX license id of the weights.'),
    inputs: z.array(TensorSpec).min(1).max(16).refine(uniqueNames, 'input names must be unique').describe('Graph inputs.'),
    outputs: z.array(TensorSpec).min(1).max(16).refine(uniqueNames, 'output names must be unique').describe('Graph outputs.'),
    bandwidthRatios: z
      .array(z.number().positive().max(1))
      .max(64)
      .describe('Bandwidth ratios k/n the model supports (for a rate-adaptive encoder, every prefix it was trained for); [] if not applicable.'),
    snrRange: z
      .strictObject({
        min: z.number().min(-100).max(100).describe('Lowest SNR supported, dB.'),
        max: z.number().min(-100).max(100).describe('Highest SNR supported, dB.'),
      })
      .refine((r) => r.min <= r.max, { message: 'min exceeds max', path: ['min'] })
      .optional()
      .describe('SNR range the model was trained and tested over.'),
    channels: z.array(ChannelModel).max(8).optional().describe('Channel models it was trained for.'),
    training: z
      .strictObject({
        data: z.string().min(1).max(500).describe('Training data, e.g. "cifar10-train (50,000 images)" or a dataset URL.'),
        seed: z.number().int().min(0).max(2 ** 32 - 1).describe('Random seed.'),
        commit: z.string().regex(/^[0-9a-f]{7,40}$/, 'commit: 7-40 lower-case hex digits').describe('Git commit of the training code.'),
        command: z.string().min(1).max(2000).describe('Command line that trained it.'),
        epochs: PositiveInt.optional().describe('Training epochs.'),
        trainSnrDb: z.number().min(-100).max(100).optional().describe('SNR trained at, dB, for a single-SNR model.'),
        finished: IsoDateTime.optional().describe('When training finished.'),
      })
      .describe('How the model was made, so it can be made again.'),
    quality: z.array(QualityPoint).max(1000).describe('Measured quality; may be empty for a policy.'),
    onnx: z
      .strictObject({
        file: z.string().regex(/^[^/\\\0]{1,255}\.onnx$/, 'file name ending in .onnx').describe('File name of the ONNX model beside the card.'),
        sha256: Sha256Hex.describe('SHA-256 of the ONNX file bytes.'),
        opset: PositiveInt.max(100).describe('Default-domain ONNX opset of the graph.'),
        sizeBytes: NonNegativeInt.describe('Size of the ONNX file, bytes.'),
      })
      .describe('The ONNX file this card describes.'),
    quantization: QuantizationPreset.optional().describe('Preset the file was produced with; absent for the original fp32 export.'),
    derivedFrom: Sha256Hex.optional().describe('SHA-256 of the ONNX file this one was converted from (after quantization).'),
  })
  .meta({ title: 'Model card', description: 'Describes one ONNX model: role, tensors, supported rates and SNRs, training and measured quality.' });
export type ModelCard = z.infer<typeof ModelCard>;
