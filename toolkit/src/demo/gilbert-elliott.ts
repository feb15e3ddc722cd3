/**
 * Gilbert–Elliott bursty loss, with the parameters of Linux netem's `gemodel p r 1-h 1-k`: `p` is the
 * chance of moving good→bad, `r` bad→good, `1-h` the loss probability in the bad state and `1-k` in the
 * good one. The random source is injected so runs can be repeated.
 */
export interface GilbertElliottParams {
  p: number;
  r: number;
  lossBad: number;
  lossGood: number;
}

export class GilbertElliott {
  private bad = false;

  constructor(
    private readonly params: GilbertElliottParams,
    private readonly random: () => number,
  ) {}

  /** Advances one packet and says whether it is lost. */
  lose(): boolean {
    const { p, r, lossBad, lossGood } = this.params;
    this.bad = this.bad ? this.random() >= r : this.random() < p;
    return this.random() < (this.bad ? lossBad : lossGood);
  }

  /** Long-run loss rate, for printing next to what was measured. */
  static expectedLoss({ p, r, lossBad, lossGood }: GilbertElliottParams): number {
    const piBad = p / (p + r);
    return piBad * lossBad + (1 - piBad) * lossGood;
  }
}

/** A small seeded generator (mulberry32), so a demo run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
