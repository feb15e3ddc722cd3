/**
 * The RN2483-style LoRa AT dialect, both sides: lines end in CR LF; `mac pause` answers the pause time
 * (a number of ms); `radio set sf|bw|cr …` answers `ok` or `invalid_param`; `radio tx <hex>` (at most 255
 * bytes) answers `ok` then, after the time on air, `radio_tx_ok` or `radio_err`, or at once `busy` (the
 * LoRaWAN stack is not paused) or `invalid_param`; `radio rx 0` answers `ok` then `radio_rx  <hex>` (two
 * spaces) or `radio_err`. After a reset the module prints its banner (`RN2483 1.0.5 Oct 31 2018 15:06:52`).
 * Lines are bounded: one longer than MAX_LINE characters is garbage.
 */
import type { LoraBandwidthKhz, LoraCodingRate, SpreadingFactor } from './airtime.js';

export const RN2483_BAUD = 57_600;
export const RN2483_MAX_PAYLOAD = 255;
/** `radio_rx  ` plus 510 hex digits, with room to spare. */
export const MAX_LINE = 600;
export const RN2483_BANNER = 'RN2483 1.0.5 Oct 31 2018 15:06:52';
const BANNER_RE = /^RN2483 \d+\.\d+\.\d+/u;

export type Rn2483Reply =
  | { kind: 'ok' | 'busy' | 'invalid_param' | 'radio_tx_ok' | 'radio_err' }
  | { kind: 'number'; value: number }
  | { kind: 'radio_rx'; payload: Uint8Array }
  | { kind: 'banner'; text: string }
  | { kind: 'garbage'; text: string };

/** Classifies one line (without CR LF) from the module. */
export function parseReply(line: string): Rn2483Reply {
  switch (line) {
    case 'ok':
    case 'busy':
    case 'invalid_param':
    case 'radio_tx_ok':
    case 'radio_err':
      return { kind: line };
  }
  if (/^\d{1,10}$/u.test(line)) return { kind: 'number', value: Number(line) };
  const rx = /^radio_rx {1,2}([0-9A-Fa-f]*)$/u.exec(line);
  if (rx) {
    const hex = rx[1]!;
    if (hex.length % 2 === 0 && hex.length / 2 <= RN2483_MAX_PAYLOAD) return { kind: 'radio_rx', payload: fromHex(hex) };
  }
  if (BANNER_RE.test(line)) return { kind: 'banner', text: line };
  return { kind: 'garbage', text: line.slice(0, 80) };
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** The commands that put the radio in the given LoRa settings, in order (each answers `ok`). */
export function setupCommands(p: { sf: SpreadingFactor; bwKhz: LoraBandwidthKhz; cr: LoraCodingRate }): string[] {
  return [`radio set mod lora`, `radio set sf sf${p.sf}`, `radio set bw ${p.bwKhz}`, `radio set cr 4/${4 + p.cr}`];
}

/** Splits a byte stream into lines at LF (a CR before it dropped); over-long lines are reported once as garbage. */
export class LineSplitter {
  private buf = '';
  private overflow = false;

  constructor(private readonly onLine: (line: string) => void, private readonly onOverflow: () => void = () => undefined) {}

  push(bytes: Uint8Array): void {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    for (const ch of text) {
      if (ch === '\n') {
        if (this.overflow) this.overflow = false;
        else this.onLine(this.buf.endsWith('\r') ? this.buf.slice(0, -1) : this.buf);
        this.buf = '';
      } else if (!this.overflow) {
        this.buf += ch;
        if (this.buf.length > MAX_LINE) {
          this.buf = '';
          this.overflow = true;
          this.onOverflow();
        }
      }
    }
  }

  reset(): void {
    this.buf = '';
    this.overflow = false;
  }
}
