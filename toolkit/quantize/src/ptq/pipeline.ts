/**
 * The post-training methods in the order they compose, applied to the float model before calibration
 * (`quantizeModel` calls this; each step is a flag of `akb quantize`):
 *
 * 1. cross-layer equalization (cle.ts), with bias absorption when asked: it changes activations, so it runs
 *    first, and the ranges are calibrated on its output;
 * 2. the input-patch moments of every weighted layer on the calibration rows (layer-stats.ts), taken on the
 *    equalized model with the QdqOptions that will quantize it;
 * 3. adaptive rounding (adaround.ts): weights snapped onto the grid quantizeQdq re-derives;
 * 4. bias correction (bias-correction.ts) of the rounding actually chosen (the reference is the model
 *    before rounding).
 *
 * Returns the model to calibrate and quantize (node names unchanged) and what each step did.
 */
import type { CalibrationSample } from '../calibrate/types.js';
import type { Model } from '../onnx/types.js';
import type { QdqOptions } from '../qdq/options.js';
import { adaround, type AdaroundLayer } from './adaround.js';
import { correctBias, type BiasCorrectionLayer } from './bias-correction.js';
import { channelMinima } from './channel-minima.js';
import { biasAbsorptionTensors, equalizeCrossLayer, type CleSummary } from './cle.js';
import { collectLayerStats } from './layer-stats.js';
import type { SkippedLayer } from './targets.js';

/** Which methods run. */
export interface PtqSteps {
  cle?: boolean;
  biasAbsorption?: boolean;
  adaround?: boolean;
  biasCorrection?: boolean;
}

/** What the methods did, for the report. */
export interface PtqReport {
  steps: Required<PtqSteps>;
  seconds: number;
  cle?: { pairs: number; absorbedChannels: number; iterations: number; converged: boolean; worstPairRatioAfter: number };
  adaround?: { layers: number; changedWeights: number; weights: number; meanLayerSqnrGainDb: number; stoppedEarly: string[] };
  biasCorrection?: { layers: number; added: number; maxShift: number };
  skipped: SkippedLayer[];
}

export interface PtqProgress {
  step: 'cle' | 'moments' | 'adaround';
  done: number;
  total: number;
}

export function anyPtq(s: PtqSteps): boolean {
  return s.cle === true || s.biasAbsorption === true || s.adaround === true || s.biasCorrection === true;
}

export async function applyPtq(
  model: Model,
  samples: readonly CalibrationSample[],
  qdq: QdqOptions,
  steps: PtqSteps,
  onProgress?: (p: PtqProgress) => void,
): Promise<{ model: Model; report: PtqReport }> {
  const t0 = performance.now();
  const on: Required<PtqSteps> = { cle: steps.cle === true || steps.biasAbsorption === true, biasAbsorption: steps.biasAbsorption === true, adaround: steps.adaround === true, biasCorrection: steps.biasCorrection === true };
  const report: PtqReport = { steps: on, seconds: 0, skipped: [] };
  let current = model;
  if (on.cle) {
    onProgress?.({ step: 'cle', done: 0, total: 1 });
    const absorb = on.biasAbsorption ? await channelMinima(current, samples, biasAbsorptionTensors(current)) : undefined;
    const r = equalizeCrossLayer(current, absorb ? { absorb } : {});
    current = r.model;
    report.cle = cleSummary(r.summary);
    onProgress?.({ step: 'cle', done: 1, total: 1 });
  }
  if (on.adaround || on.biasCorrection) {
    // Bias correction alone needs only the mean patch: no second moments (K x K per layer) then.
    const stats = await collectLayerStats(current, samples, qdq, {
      ...(on.adaround ? {} : { maxHessianRow: 0 }),
      onProgress: (done, total) => onProgress?.({ step: 'moments', done, total }),
    });
    report.skipped.push(...stats.skipped);
    let rounded = stats.model;
    if (on.adaround) {
      const r = adaround(stats.model, stats, { centered: on.biasCorrection, onProgress: (done, total) => onProgress?.({ step: 'adaround', done, total }) });
      rounded = r.model;
      report.adaround = adaroundSummary(r.layers);
      report.skipped.push(...r.skipped);
    }
    if (on.biasCorrection) {
      const r = correctBias(rounded, stats, { reference: stats.model });
      rounded = r.model;
      report.biasCorrection = { layers: r.layers.length, added: r.layers.filter((l) => l.added).length, maxShift: Math.max(0, ...r.layers.map((l: BiasCorrectionLayer) => l.maxShift)) };
      report.skipped.push(...r.skipped.filter((s) => !report.skipped.some((x) => x.node === s.node && x.reason === s.reason)));
    }
    current = rounded;
  }
  report.seconds = (performance.now() - t0) / 1000;
  return { model: current, report };
}

function cleSummary(s: CleSummary): NonNullable<PtqReport['cle']> {
  return {
    pairs: s.pairs.length,
    absorbedChannels: s.pairs.reduce((n, p) => n + p.absorbedChannels, 0),
    iterations: s.iterations,
    converged: s.converged,
    worstPairRatioAfter: Math.max(1, ...s.pairs.map((p) => p.pairRatio.after)),
  };
}

function adaroundSummary(layers: readonly AdaroundLayer[]): NonNullable<PtqReport['adaround']> {
  const gains = layers.filter((l) => Number.isFinite(l.sqnrAfterDb) && Number.isFinite(l.sqnrBeforeDb)).map((l) => l.sqnrAfterDb - l.sqnrBeforeDb);
  return {
    layers: layers.length,
    changedWeights: layers.reduce((n, l) => n + l.changed, 0),
    weights: layers.reduce((n, l) => n + l.weights, 0),
    meanLayerSqnrGainDb: gains.length === 0 ? 0 : Math.round((gains.reduce((a, b) => a + b, 0) / gains.length) * 100) / 100,
    stoppedEarly: layers.filter((l) => l.stoppedEarly).map((l) => l.node),
  };
}
