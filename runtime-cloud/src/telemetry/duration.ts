/** Durations as people write them on the command line: `7d`, `12h`, `30m`, `45s`, `500ms` (a bare number is seconds). */
import { AkbError } from '@akb/protocol';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of `text`; throws AkbError('USAGE') naming `flag` for anything else, zero or negative. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : Number.NaN;
  if (!(ms > 0 && Number.isFinite(ms) && ms <= 100 * 365 * UNITS.d!)) {
    throw new AkbError('USAGE', `${flag}: ${JSON.stringify(text.slice(0, 40))} is not a duration`, { hint: 'e.g. 7d, 12h, 30m, 45s or 500ms', exitCode: 2 });
  }
  return Math.round(ms);
}
