/**
 * The model card of a quantized model, written beside it so the model drops into a model set: the
 * source's card (card.json beside the input) with the new file's size, SHA-256 and opset, the
 * precision (`quantization`, the protocol's preset name), `derivedFrom` (the SHA-256 of the input), a
 * version tagged with the preset as semver build metadata (`1.0.0+int8-qdq`), and the quality measured
 * by the report in place of the float model's.
 *
 * Quality: the PSNR through the channel of the quantized pipeline when the report measured it (the QDQ
 * reference semantics when the preset was chosen for a device profile, since ARM boards reproduce those;
 * this CPU's kernels otherwise); none when it was not measured, with the output SQNR in the description
 * (the card's quality metrics have no SQNR). The card goes to `card.json` in the output's folder, or
 * to `<output stem>.card.json` when that folder is the input's (its card.json is the source's: never
 * overwritten). Without a card beside the input nothing is written: a card needs the model's role and
 * training, which the ONNX file does not hold.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { encodeMessage, type ModelCard, type QualityPoint } from '@akb/protocol';
import { readCardBeside } from '../jscc/card.js';
import type { JsccEvaluation } from '../jscc/evaluate.js';
import type { QuantizeReport } from './types.js';

export type CardOutcome = { path: string; card: ModelCard } | { skipped: string };

export interface CardInputs {
  input: string;
  output: string;
  /** Default-domain opset of the written model. */
  opset: number;
  /** Where the JSCC images came from (for the quality points' dataset). */
  jsccImages?: string;
}

/** The card path for `output`: card.json beside it unless that is the input's folder. */
export function cardPathFor(input: string, output: string): string {
  const dir = dirname(resolve(output));
  if (dir === dirname(resolve(input))) return join(dir, `${basename(output).replace(/\.onnx$/i, '')}.card.json`);
  return join(dir, 'card.json');
}

/** Builds the quantized model's card (pure, apart from hashing the two files). */
export async function quantizedCard(report: QuantizeReport, inputs: CardInputs, source: ModelCard | undefined): Promise<ModelCard | undefined> {
  if (source === undefined) return undefined;
  const [inBytes, outBytes] = await Promise.all([readFile(inputs.input), readFile(inputs.output)]);
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const preset = report.preset.cardPreset as ModelCard['quantization'] & string;
  const evaluation = measured(report);
  const ratio = source.bandwidthRatios.length === 1 ? source.bandwidthRatios[0] : undefined;
  const dataset = inputs.jsccImages !== undefined ? basename(resolve(inputs.jsccImages)) : basename(resolve(report.heldOut.source));
  const quality: QualityPoint[] = (evaluation?.points ?? []).map((p) => ({
    metric: 'psnr',
    snr: p.snrDb,
    channel: 'awgn',
    value: Math.round(p.quantizedPsnrDb * 1e4) / 1e4,
    ...(ratio !== undefined ? { bandwidthRatio: ratio } : {}),
    dataset: dataset.slice(0, 200),
  }));
  const sqnr = Number.isFinite(report.outputSqnrDb) ? `${report.outputSqnrDb.toFixed(1)} dB` : 'identical outputs';
  const how = `${report.preset.name} (${report.preset.reason})`;
  const description = `${source.name} quantized with ${how}; output SQNR ${sqnr} on ${report.heldOut.samples} held-out samples${
    evaluation ? `; quality: PSNR through AWGN of the quantized pipeline on ${evaluation.images} images, partner in float` : '; PSNR not measured'
  }`;
  const card: ModelCard = {
    ...source,
    version: `${source.version.split('+')[0]}+${preset}`,
    description: description.slice(0, 2000),
    quality,
    onnx: { file: basename(inputs.output), sha256: sha(outBytes), opset: inputs.opset, sizeBytes: outBytes.length },
    quantization: preset,
    derivedFrom: sha(inBytes),
  };
  delete (card as { $schema?: string }).$schema;
  return card;
}

/** Writes the card (validated by the protocol's schema, atomically) and says where, or why not. */
export async function writeQuantizedCard(report: QuantizeReport, inputs: CardInputs): Promise<CardOutcome> {
  const card = await quantizedCard(report, inputs, await readCardBeside(inputs.input));
  if (card === undefined) return { skipped: `no card.json beside ${inputs.input}: write one for the output before it joins a model set` };
  const path = cardPathFor(inputs.input, inputs.output);
  const text = encodeMessage('model-card', card, { maxBytes: 1 << 20 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  await rename(tmp, path);
  return { path, card };
}

function measured(report: QuantizeReport): JsccEvaluation | undefined {
  const kernels = report.jscc !== undefined && 'points' in report.jscc ? report.jscc : undefined;
  return report.preset.device !== undefined ? (report.jsccReference ?? kernels) : (kernels ?? report.jsccReference);
}
