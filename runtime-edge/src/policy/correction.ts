/**
 * The online part of the channel KB: per (SNR bin, complexity bin, action), how much better or worse the
 * rewards fed back were than the offline table expected. A running mean (step 1/n) that turns into an
 * exponential average (step `floor`) after 1/floor samples, so it keeps tracking a changing link.
 */
export interface CorrectionCell {
  readonly value: number;
  readonly count: number;
}

export class CorrectionTable {
  private readonly values: Float64Array;
  private readonly counts: Uint32Array;

  constructor(
    readonly snrBins: number,
    readonly complexityBins: number,
    readonly actions: number,
    /** Smallest step size (default 0.05: about the last 20 samples weigh). */
    readonly floor = 0.05,
  ) {
    const n = snrBins * complexityBins * actions;
    this.values = new Float64Array(n);
    this.counts = new Uint32Array(n);
  }

  private index(snrBin: number, cbin: number, action: number): number {
    return (snrBin * this.complexityBins + cbin) * this.actions + action;
  }

  /** The correction to add to the offline expectation, dB of reward (0 where nothing was learned). */
  get(snrBin: number, cbin: number, action: number): number {
    return this.values[this.index(snrBin, cbin, action)]!;
  }

  cell(snrBin: number, cbin: number, action: number): CorrectionCell {
    const i = this.index(snrBin, cbin, action);
    return { value: this.values[i]!, count: this.counts[i]! };
  }

  /** Moves the cell toward `residual` (observed reward minus the offline expectation); returns the new value. */
  update(snrBin: number, cbin: number, action: number, residual: number): number {
    const i = this.index(snrBin, cbin, action);
    const n = Math.min(this.counts[i]! + 1, 0xffffffff);
    this.counts[i] = n;
    const step = Math.max(this.floor, 1 / n);
    const v = this.values[i]! + step * (residual - this.values[i]!);
    this.values[i] = v;
    return v;
  }

  /** Cells that learned something, for status and tests. */
  get learned(): number {
    let n = 0;
    for (const c of this.counts) if (c > 0) n++;
    return n;
  }

  reset(): void {
    this.values.fill(0);
    this.counts.fill(0);
  }
}
