/**
 * Gilbert–Elliott bursty loss, with the parameters of Linux netem's `gemodel p r 1-h 1-k`: `p` is the
 * chance of moving good→bad, `r` bad→good, `1-h` (`lossBad`) the loss probability in the bad state and
 * `1-k` (`lossGood`) in the good one. Probabilities are per packet (here: per fragment), in [0, 1]. The
 * state moves first, then the packet is lost or not in the new state. The random source is injected so
 * runs can be repeated.
 */
import { AkbError } from '@akb/protocol';
import type { RandomSource } from '@akb/protocol';

export { gaussian, seededRandom } from '@akb/protocol';

export interface GilbertElliottParams {
  /** Good → bad transition probability per packet (netem p). */
  p: number;
  /** Bad → good transition probability per packet (netem r). */
  r: number;
  /** Loss probability in the bad state (netem 1-h). */
  lossBad: number;
  /** Loss probability in the good state (netem 1-k). */
  lossGood: number;
}

/** Throws AkbError('INVALID_LOSS_MODEL') unless every parameter is a probability. */
export function checkGilbertElliott(params: GilbertElliottParams): GilbertElliottParams {
  for (const key of ['p', 'r', 'lossBad', 'lossGood'] as const) {
    const v = params[key];
    if (!(typeof v === 'number' && v >= 0 && v <= 1)) {
      throw new AkbError('INVALID_LOSS_MODEL', `Gilbert-Elliott ${key} = ${String(v)} is not a probability in [0, 1]`, {
        hint: 'give p,r,lossBad,lossGood as in netem gemodel p r 1-h 1-k, e.g. 0.05,0.5,0.8,0.01',
      });
    }
  }
  return params;
}

/** Parses "p,r,lossBad,lossGood" (probabilities, or percentages with a % sign as netem writes them). */
export function parseGilbertElliott(text: string): GilbertElliottParams {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map((s) => (s.endsWith('%') ? Number(s.slice(0, -1)) / 100 : Number(s)));
  if (parts.length !== 4 || parts.some((s) => s === '') || values.some((v) => Number.isNaN(v))) {
    throw new AkbError('INVALID_LOSS_MODEL', `loss "${text.slice(0, 80)}" is not four numbers p,r,lossBad,lossGood`, {
      hint: 'e.g. --loss 0.05,0.5,0.8,0.01 (netem gemodel 5% 50% 80% 1%)',
    });
  }
  const [p = 0, r = 0, lossBad = 0, lossGood = 0] = values;
  return checkGilbertElliott({ p, r, lossBad, lossGood });
}

export class GilbertElliott {
  private bad = false;

  constructor(
    private readonly params: GilbertElliottParams,
    private readonly random: RandomSource,
  ) {
    checkGilbertElliott(params);
  }

  /** True while the chain is in the bad (bursty) state. */
  get inBadState(): boolean {
    return this.bad;
  }

  /** Advances one packet and says whether it is lost. */
  lose(): boolean {
    const { p, r, lossBad, lossGood } = this.params;
    this.bad = this.bad ? this.random() >= r : this.random() < p;
    return this.random() < (this.bad ? lossBad : lossGood);
  }

  /** Long-run loss rate, for printing next to what was measured (a chain that never moves stays good). */
  static expectedLoss({ p, r, lossBad, lossGood }: GilbertElliottParams): number {
    const piBad = p + r === 0 ? 0 : p / (p + r);
    return piBad * lossBad + (1 - piBad) * lossGood;
  }
}
