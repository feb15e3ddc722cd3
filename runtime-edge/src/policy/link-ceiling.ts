/**
 * The link's ceiling on a tile's channel uses. A tile travels as one v1 frame, cut into fragments of at
 * most the link's MTU, each carrying the 56-byte header and a 4-byte CRC and the tile's complex symbols at
 * 2 × (bytes per value) bytes each (int8: 2, float16: 4, float32: 8). On a link that declares its rate the
 * time one tile takes is then known before it is sent:
 *
 * - `bytesPerSecond` (a digital link such as the serial modems, whose rate already counts its packet
 *   overhead and duty cycle): (fragments × 60 + uses × bytes per symbol) / rate;
 * - `symbolsPerSecond` (an analog link such as sdr-udp): the samples of each fragment's burst, which the
 *   caller computes (`burstSymbols`, the burst format's preamble, header chips, pilots and guard), / rate.
 *
 * The ceiling is the largest number of uses whose frame takes at most `budgetMs`; the policy allows no
 * action above it (allowedActions: it holds whatever the intent's priority, and when no action fits the
 * fewest uses is chosen). It does not count the frame's trip through a gateway or a broker, nor a
 * duty-cycle window already spent: it bounds what one tile asks of the link.
 *
 * At LoRa SF12/125 kHz, CR 4/5 (27.5 B/s of fragment bytes) a second allows no int8 use (a fragment's header
 * and CRC alone take 2.2 s), so the action of fewest uses goes; at SF7 (620.6 B/s), 280 uses.
 */
import { AkbError, BYTES_PER_VALUE, FRAME_CRC_LENGTH, FRAME_HEADER_LENGTH, MAX_TOTAL_SYMBOLS, symbolsPerFragment, type SymbolDtype } from '@akb/protocol';

/** Bytes each fragment carries besides its symbols: the v1 header and the CRC. */
export const FRAGMENT_OVERHEAD_BYTES = FRAME_HEADER_LENGTH + FRAME_CRC_LENGTH;

export interface LinkTimeModel {
  /** Largest fragment, bytes. */
  readonly mtu: number;
  /** The dtype the pipeline encodes with. */
  readonly dtype: SymbolDtype;
  readonly bytesPerSecond?: number;
  readonly symbolsPerSecond?: number;
  /** With symbolsPerSecond: link symbols (samples) that carry one fragment of `dataSymbols` symbols (default: the symbols alone). */
  readonly burstSymbols?: (dataSymbols: number) => number;
}

export interface LinkCeiling {
  /** Most channel uses a tile may take on this link. */
  readonly maxUses: number;
  readonly budgetMs: number;
  /** Time a tile at the ceiling takes, ms. */
  readonly tileMs: number;
  readonly basis: 'bytesPerSecond' | 'symbolsPerSecond';
  readonly rate: number;
  readonly mtu: number;
  readonly dtype: SymbolDtype;
}

/** Time the frame of a tile of `uses` channel uses takes on the link, ms. */
export function tileTimeMs(uses: number, model: LinkTimeModel): number {
  const per = symbolsPerFragment(model.mtu, model.dtype);
  if (!(per >= 1)) throw new AkbError('BAD_OPTION', `an MTU of ${model.mtu} bytes carries no ${model.dtype} symbol`);
  const full = Math.floor(uses / per);
  const rest = uses - full * per;
  const fragments = full + (rest > 0 || full === 0 ? 1 : 0);
  if (model.bytesPerSecond !== undefined) {
    const bytes = fragments * FRAGMENT_OVERHEAD_BYTES + uses * 2 * BYTES_PER_VALUE[model.dtype];
    return (1000 * bytes) / model.bytesPerSecond;
  }
  if (model.symbolsPerSecond !== undefined) {
    const burst = model.burstSymbols ?? ((n: number) => n);
    const symbols = full * burst(per) + (rest > 0 || full === 0 ? burst(rest) : 0);
    return (1000 * symbols) / model.symbolsPerSecond;
  }
  throw new AkbError('BAD_OPTION', 'the link declares no rate');
}

/**
 * The ceiling for a link of this rate and a tile budget of `budgetMs`; undefined when the link declares no
 * rate (an emulated or MQTT link) or the budget is 0 (no ceiling). Throws AkbError('BAD_OPTION') for a
 * rate or budget that is not a positive finite number.
 */
export function linkUseCeiling(model: LinkTimeModel, budgetMs: number): LinkCeiling | undefined {
  if (budgetMs === 0) return undefined;
  if (!(Number.isFinite(budgetMs) && budgetMs > 0)) throw new AkbError('BAD_OPTION', `a tile budget is a positive number of ms, got ${budgetMs}`);
  const basis = model.bytesPerSecond !== undefined ? 'bytesPerSecond' : model.symbolsPerSecond !== undefined ? 'symbolsPerSecond' : undefined;
  if (basis === undefined) return undefined;
  const rate = model[basis]!;
  if (!(Number.isFinite(rate) && rate > 0)) throw new AkbError('BAD_OPTION', `the link's ${basis} must be positive, got ${rate}`);
  // tileTimeMs grows with the uses: the largest that fits, by bisection.
  let lo = 0;
  let hi = MAX_TOTAL_SYMBOLS;
  if (tileTimeMs(hi, model) <= budgetMs) lo = hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (tileTimeMs(mid, model) <= budgetMs) lo = mid;
    else hi = mid;
  }
  const maxUses = lo > 0 || tileTimeMs(0, model) <= budgetMs ? lo : 0;
  return { maxUses, budgetMs, tileMs: tileTimeMs(maxUses, model), basis, rate, mtu: model.mtu, dtype: model.dtype };
}
