/**
 * The alarm thresholds and the checks on one telemetry sample, with hysteresis: an alarm is raised when
 * its value crosses the threshold and cleared only once the value is back past the threshold by a margin
 * (PSNR and SNR: 1 dB above; memory: 5 % below; temperature: 2 °C below), so a value that hovers at the
 * threshold does not make the alarm flap. Between the two, the alarm stays as it was.
 */
import type { ActiveAlarm, AlarmKind, TelemetryMessage } from '@akb/protocol';

export interface AlarmThresholds {
  /** Seconds without telemetry, while online, before `silent` (default 30). */
  silentS: number;
  /** PSNR in dB below which `link-quality` is raised (default 20; null: never). */
  psnrDb: number | null;
  /** SNR estimate in dB below which `snr-low` is raised (default null: never). */
  snrDb: number | null;
  /** Resident set in bytes above which `memory` is raised (default null: 0.8 of the profile's memory, else 1024 MiB). */
  rssBytes: number | null;
  /** Board temperature in °C above which `temperature` is raised (default 80; null: never). */
  temperatureC: number | null;
}

export const DEFAULT_THRESHOLDS: AlarmThresholds = { silentS: 30, psnrDb: 20, snrDb: null, rssBytes: null, temperatureC: 80 };
export const DEFAULT_RSS_BYTES = 1024 * 2 ** 20;
/** Share of the profile's memory at which `memory` is raised. */
export const PROFILE_MEMORY_SHARE = 0.8;
export const MARGINS = { psnrDb: 1, snrDb: 1, rssShare: 0.05, temperatureC: 2 } as const;

/** What a check says: raise (with the alarm's fields), clear, or leave the alarm as it is. */
export type Verdict = { readonly raise: Omit<ActiveAlarm, 'since'> } | 'clear' | 'keep';

const MiB = 2 ** 20;
const fmt = (x: number, digits = 1): string => x.toFixed(digits);

function below(kind: AlarmKind, value: number | undefined | null, threshold: number | null, margin: number, what: (v: number, t: number) => string): Verdict {
  if (threshold === null || value === undefined || value === null) return 'keep';
  if (value < threshold) return { raise: { kind, value, threshold, message: what(value, threshold) } };
  return value >= threshold + margin ? 'clear' : 'keep';
}

function above(kind: AlarmKind, value: number | undefined | null, threshold: number | null, margin: number, what: (v: number, t: number) => string): Verdict {
  if (threshold === null || value === undefined || value === null) return 'keep';
  if (value > threshold) return { raise: { kind, value, threshold, message: what(value, threshold) } };
  return value <= threshold - margin ? 'clear' : 'keep';
}

/** Every check a telemetry sample drives (`silent` is the alarm rules' own: it depends on time). */
export function checkSample(m: TelemetryMessage, t: AlarmThresholds, rssThreshold: number): [AlarmKind, Verdict][] {
  return [
    ['link-quality', below('link-quality', m.quality?.psnr, t.psnrDb, MARGINS.psnrDb, (v, x) => `PSNR ${fmt(v)} dB below ${fmt(x)} dB`)],
    ['snr-low', below('snr-low', m.snrDb, t.snrDb, MARGINS.snrDb, (v, x) => `SNR ${fmt(v)} dB below ${fmt(x)} dB`)],
    ['memory', above('memory', m.memoryRssBytes, rssThreshold, rssThreshold * MARGINS.rssShare, (v, x) => `resident memory ${fmt(v / MiB, 0)} MiB above ${fmt(x / MiB, 0)} MiB`)],
    ['temperature', above('temperature', m.temperatureC, t.temperatureC, MARGINS.temperatureC, (v, x) => `temperature ${fmt(v)} °C above ${fmt(x)} °C`)],
    ['link-down', linkDown(m)],
  ];
}

/** `link-down` follows the device's own word (telemetry `link.up`); a sample without `link` leaves it as it is. */
function linkDown(m: TelemetryMessage): Verdict {
  if (m.link === undefined) return 'keep';
  if (m.link.up) return 'clear';
  const why = m.link.fault ? `: ${m.link.fault.code} ${m.link.fault.message}` : '';
  return { raise: { kind: 'link-down', value: null, threshold: 0, message: `${m.link.driver} link down${why}`.slice(0, 2000) } };
}

/** The memory threshold of a device: the setting, else 0.8 of its profile's memory, else 1024 MiB. */
export function rssThresholdOf(t: AlarmThresholds, profileBytes: number | undefined): number {
  if (t.rssBytes !== null) return t.rssBytes;
  return profileBytes !== undefined ? Math.round(profileBytes * PROFILE_MEMORY_SHARE) : DEFAULT_RSS_BYTES;
}
