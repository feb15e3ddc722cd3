/**
 * Time on air and duty cycle. LoRa's time on air is the Semtech formula (SX1276 datasheet §4.1.1.7,
 * AN1200.13): symbol time 2^SF / BW; preamble (n + 4.25) symbols; payload
 * 8 + max(ceil((8 PL − 4 SF + 28 + 16 CRC − 20 IH) / (4 (SF − 2 DE))) (CR + 4), 0) symbols, with IH = 1 for
 * an implicit header and DE = 1 when low data-rate optimisation is on (the default rule: on when a symbol
 * lasts 16 ms or more, i.e. SF11 and SF12 at 125 kHz). A transparent (E32/E22-style) module sends a packet
 * of n bytes at its air data rate: 8 n / rate seconds (its own preamble and FEC are not modelled).
 * A duty-cycle limit (EU868: 1 % in most sub-bands) is a sliding window of one hour: airtime used within
 * the last hour may not exceed `dutyCycle` × 3600 s.
 */
import { AkbError } from '@akb/protocol';

export type SpreadingFactor = 7 | 8 | 9 | 10 | 11 | 12;
export type LoraBandwidthKhz = 125 | 250 | 500;
/** Coding rate 4/(4+cr): 1 → 4/5 … 4 → 4/8. */
export type LoraCodingRate = 1 | 2 | 3 | 4;

export interface LoraParams {
  sf: SpreadingFactor;
  bwKhz: LoraBandwidthKhz;
  cr: LoraCodingRate;
  /** Programmed preamble length, symbols (default 8). */
  preamble?: number;
  /** Explicit header (default true). */
  explicitHeader?: boolean;
  /** Payload CRC (default true). */
  crc?: boolean;
  /** Low data-rate optimisation; default: on when the symbol time is ≥ 16 ms. */
  lowDataRateOptimize?: boolean;
}

export const LORA_MAX_PAYLOAD = 255;

/** One LoRa symbol, milliseconds. */
export function loraSymbolMs(p: Pick<LoraParams, 'sf' | 'bwKhz'>): number {
  return 2 ** p.sf / p.bwKhz;
}

/** Time on air of one LoRa packet with `payloadBytes` bytes of payload, milliseconds. */
export function loraTimeOnAirMs(payloadBytes: number, p: LoraParams): number {
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > LORA_MAX_PAYLOAD) {
    throw new AkbError('BAD_OPTION', `a LoRa payload is 0–${LORA_MAX_PAYLOAD} bytes, got ${payloadBytes}`);
  }
  const tSym = loraSymbolMs(p);
  const de = (p.lowDataRateOptimize ?? tSym >= 16) ? 1 : 0;
  const ih = (p.explicitHeader ?? true) ? 0 : 1;
  const crc = (p.crc ?? true) ? 1 : 0;
  const preambleMs = ((p.preamble ?? 8) + 4.25) * tSym;
  const num = 8 * payloadBytes - 4 * p.sf + 28 + 16 * crc - 20 * ih;
  const payloadSymbols = 8 + Math.max(Math.ceil(num / (4 * (p.sf - 2 * de))) * (p.cr + 4), 0);
  return preambleMs + payloadSymbols * tSym;
}

/** The LoRa PHY bit rate SF · 4/(4+CR) · BW / 2^SF, bits/s (no preamble or header). */
export function loraBitRate(p: Pick<LoraParams, 'sf' | 'bwKhz' | 'cr'>): number {
  return (p.sf * (4 / (4 + p.cr)) * p.bwKhz * 1000) / 2 ** p.sf;
}

/** Time on air of a transparent-mode packet of `bytes` at `airBitsPerSecond`, milliseconds. */
export function transparentTimeOnAirMs(bytes: number, airBitsPerSecond: number): number {
  return (8 * bytes * 1000) / airBitsPerSecond;
}

export interface DutyCycleOptions {
  /** Share of time the transmitter may be on, 0 < d ≤ 1 (EU868 g1: 0.01); 1 = no limit. */
  dutyCycle: number;
  /** Window, ms (default 3,600,000: one hour, as ETSI EN 300 220 counts it). */
  windowMs?: number;
  now?: () => number;
}

/** Regional limits, as settings (the share of an hour). */
export const DUTY_CYCLE = { none: 1, 'eu868-g': 0.01, 'eu868-g1': 0.01, 'eu868-g2': 0.001, 'eu868-g3': 0.1, 'us915': 1 } as const;
export type DutyCycleRegion = keyof typeof DUTY_CYCLE;

/** Airtime spent within a sliding window: may a transmission of `ms` start now, or when? */
export class DutyCycle {
  private readonly spent: { at: number; ms: number }[] = [];
  private readonly windowMs: number;
  private readonly now: () => number;
  readonly budgetMs: number;

  constructor(o: DutyCycleOptions) {
    if (!(o.dutyCycle > 0 && o.dutyCycle <= 1)) throw new AkbError('BAD_OPTION', `a duty cycle is in (0, 1], got ${o.dutyCycle}`);
    this.windowMs = o.windowMs ?? 3_600_000;
    this.now = o.now ?? Date.now;
    this.budgetMs = o.dutyCycle * this.windowMs;
  }

  /** Airtime used within the window now, ms. */
  usedMs(): number {
    this.expire();
    return this.spent.reduce((s, e) => s + e.ms, 0);
  }

  /** Whether `ms` of airtime fits the budget now. */
  allows(ms: number): boolean {
    return this.budgetMs >= this.windowMs || this.usedMs() + ms <= this.budgetMs;
  }

  /** Records a transmission of `ms` starting now. */
  record(ms: number): void {
    if (this.budgetMs >= this.windowMs) return;
    this.spent.push({ at: this.now(), ms });
  }

  private expire(): void {
    const t = this.now() - this.windowMs;
    while (this.spent.length > 0 && this.spent[0]!.at <= t) this.spent.shift();
  }
}
