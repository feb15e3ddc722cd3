/**
 * The DQN's view of the link, mirroring `models/train/linksim.py` exactly (LinkEnv.obs and LinkEnv.step):
 * 11 fields built from the SNR the receiver measured on earlier frames, the source complexity of the
 * current tile, the previous action and the recent quality. A tile is one frame here, as a 32x32 image is
 * one frame in the simulator.
 */
import type { RateAction } from '@akb/jscc';

export const STATE_DIM = 11;
/** The simulator's denominators (constants there, not read from the action table). */
const USES_SCALE = 512;
const POWER_SCALE = 3;
/** The simulator's start: quality EMA 22 dB, previous action (256 uses, 0 dB). */
export const INITIAL_PSNR_EMA = 22;
export const INITIAL_PREVIOUS_ACTION = { channelUses: 256, powerDb: 0 } as const;

/**
 * Source complexity of one planar RGB tile (side x side, values in [0, 1]) as `models/common/data.py::
 * complexity`: the grey image is the mean of R, G and B; the mean absolute horizontal difference and the
 * mean absolute vertical difference, averaged.
 */
export function tileComplexity(tiles: Float32Array, offset: number, side: number, grey: Float32Array): number {
  const n = side * side;
  for (let p = 0; p < n; p++) grey[p] = (tiles[offset + p]! + tiles[offset + n + p]! + tiles[offset + 2 * n + p]!) / 3;
  let gx = 0;
  let gy = 0;
  for (let y = 0; y < side; y++) {
    const row = y * side;
    for (let x = 0; x + 1 < side; x++) gx += Math.abs(grey[row + x + 1]! - grey[row + x]!);
  }
  for (let y = 0; y + 1 < side; y++) {
    const row = y * side;
    for (let x = 0; x < side; x++) gy += Math.abs(grey[row + side + x]! - grey[row + x]!);
  }
  const pairs = side * (side - 1);
  return (gx / pairs + gy / pairs) / 2;
}

/** numpy.digitize(c, edges): the number of edges at or below c. */
export function complexityBin(c: number, edges: readonly number[]): number {
  let bin = 0;
  while (bin < edges.length && edges[bin]! <= c) bin++;
  return bin;
}

/** The channel KB's SNR bin: round to 1 dB, clamped to the table. */
export function snrBinIndex(snrDb: number, bins: readonly number[]): number {
  const i = Math.round(snrDb) - bins[0]!;
  return Math.min(bins.length - 1, Math.max(0, i));
}

/** The index of the action the simulator starts from (256 uses, 0 dB), else 0. */
export function initialActionIndex(actions: readonly RateAction[]): number {
  const i = actions.findIndex((a) => a.channelUses === INITIAL_PREVIOUS_ACTION.channelUses && a.powerDb === INITIAL_PREVIOUS_ACTION.powerDb);
  return Math.max(0, i);
}

/** What feedback taught the edge about the link; updated as LinkEnv.step updates its fields. */
export class LinkState {
  /** Channel SNR estimate (before the power offset), dB: the last frame's measured SNR. */
  est: number;
  estPrev: number;
  /** Long-run estimate, EMA 0.9. */
  estLong: number;
  /** Recent PSNR, EMA 0.8. */
  psnrEma = INITIAL_PSNR_EMA;
  lostPrev = 0;
  /** Whether any feedback arrived yet (until then `est` is the configured initial SNR). */
  measured = false;

  constructor(initialSnrDb: number) {
    this.est = initialSnrDb;
    this.estPrev = initialSnrDb;
    this.estLong = initialSnrDb;
  }

  /** One frame's outcome: the channel SNR measured (undefined when the frame was lost) and its PSNR. */
  observe(channelSnrDb: number | undefined, psnr: number): void {
    this.estPrev = this.est;
    if (channelSnrDb !== undefined) {
      this.est = channelSnrDb;
      this.measured = true;
    }
    this.estLong = 0.9 * this.estLong + 0.1 * this.est;
    this.psnrEma = 0.8 * this.psnrEma + 0.2 * psnr;
    this.lostPrev = channelSnrDb === undefined ? 1 : 0;
  }

  /** Writes the 11 state fields at `out[offset...]` for complexity bin `cbin` after action `previous`. */
  write(out: Float32Array, offset: number, cbin: number, previous: RateAction): void {
    out[offset] = this.est / 10;
    out[offset + 1] = (this.est - this.estPrev) / 5;
    for (let b = 0; b < 4; b++) out[offset + 2 + b] = b === cbin ? 1 : 0;
    out[offset + 6] = previous.channelUses / USES_SCALE;
    out[offset + 7] = previous.powerDb / POWER_SCALE;
    out[offset + 8] = this.psnrEma / 30;
    out[offset + 9] = this.lostPrev;
    out[offset + 10] = this.estLong / 10;
  }
}
