/**
 * akb-cloud's telemetry flags, and the TelemetryOptions they make (the store opened). main.ts spreads
 * TELEMETRY_FLAGS into its yargs options, calls checkTelemetryArgs in its check and telemetryFromArgs
 * after parsing.
 */
import { AkbError } from '@akb/protocol';
import type { TelemetryOptions } from './telemetry.js';
import { openStore, DEFAULT_DATA_DIR } from './open-store.js';
import { parseDuration } from './duration.js';
import { loadProfileMemory } from './profiles.js';

const MiB = 2 ** 20;

export const TELEMETRY_FLAGS = {
  telemetry: { type: 'boolean', default: true, describe: 'keep the fleet\'s telemetry, raise alarms, export metrics (--no-telemetry: none of it)' },
  db: { type: 'string', describe: 'telemetry store: sqlite:<path> or a path, postgres://user@host:port/db[?schema=name], memory: (default: SQLite in --data)' },
  data: { type: 'string', default: DEFAULT_DATA_DIR, describe: 'folder of the default SQLite store (telemetry.sqlite)' },
  retention: { type: 'string', default: '7d', describe: 'how long telemetry is kept: e.g. 7d, 12h, 30m' },
  'accept-unknown': { type: 'boolean', default: false, describe: 'store telemetry of devices whose status was never seen (default: refused, counted as unknown)' },
  'telemetry-rate': { type: 'number', default: 20, describe: 'telemetry and status messages a second per device (more are dropped, counted)' },
  'telemetry-burst': { type: 'number', default: 40, describe: 'messages at once per device' },
  'alarm-silent-s': { type: 'number', default: 30, describe: 'alarm "silent": seconds without telemetry while online' },
  'alarm-psnr': { type: 'number', default: 20, describe: 'alarm "link-quality": reported PSNR below this, dB' },
  'alarm-snr': { type: 'number', describe: 'alarm "snr-low": SNR estimate below this, dB (default: off)' },
  'alarm-rss-mb': { type: 'number', describe: 'alarm "memory": resident memory above this, MiB (default: 0.8 of the device profile\'s memory with --profiles, else 1024)' },
  profiles: { type: 'string', describe: 'folder of device profiles (*.profile.json, e.g. devices/): each device\'s memory for the "memory" alarm' },
  'alarm-temp-c': { type: 'number', default: 80, describe: 'alarm "temperature": board temperature above this, °C' },
} as const;

export interface TelemetryArgs {
  telemetry: boolean;
  db?: string | undefined;
  data: string;
  retention: string;
  'accept-unknown': boolean;
  'telemetry-rate': number;
  'telemetry-burst': number;
  'alarm-silent-s': number;
  'alarm-psnr': number;
  'alarm-snr'?: number | undefined;
  'alarm-rss-mb'?: number | undefined;
  'alarm-temp-c': number;
  profiles?: string | undefined;
}

function inRange(flag: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!(Number.isFinite(v) && v >= min && v <= max)) throw new Error(`--${flag} must be a number from ${min} to ${max}`);
}

/** Throws an Error naming the flag for a value out of range (yargs turns it into one line). */
export function checkTelemetryArgs(a: TelemetryArgs): void {
  parseDuration(a.retention, '--retention');
  inRange('telemetry-rate', a['telemetry-rate'], 0.001, 100_000);
  inRange('telemetry-burst', a['telemetry-burst'], 1, 1_000_000);
  inRange('alarm-silent-s', a['alarm-silent-s'], 1, 86_400);
  inRange('alarm-psnr', a['alarm-psnr'], 0, 200);
  inRange('alarm-snr', a['alarm-snr'], -100, 100);
  inRange('alarm-rss-mb', a['alarm-rss-mb'], 1, 16 * 2 ** 20);
  inRange('alarm-temp-c', a['alarm-temp-c'], -100, 200);
  if (!a.telemetry && a.db !== undefined) throw new Error('--db and --no-telemetry contradict each other');
}

/** The telemetry options the flags make, the store opened; undefined with --no-telemetry. */
export async function telemetryFromArgs(a: TelemetryArgs): Promise<TelemetryOptions | undefined> {
  if (!a.telemetry) return undefined;
  let retentionMs: number;
  try {
    retentionMs = parseDuration(a.retention, '--retention');
  } catch (e) {
    throw e instanceof AkbError ? e : new AkbError('USAGE', String(e), { exitCode: 2 });
  }
  const memory = a.profiles !== undefined ? await loadProfileMemory(a.profiles) : undefined;
  const store = await openStore(a.db, { dataDir: a.data });
  return {
    store,
    retentionMs,
    ingest: { acceptUnknown: a['accept-unknown'], rate: a['telemetry-rate'], burst: a['telemetry-burst'] },
    alarms: {
      ...(memory ? { memoryOf: (profile: string) => memory.get(profile) } : {}),
      thresholds: {
        silentS: a['alarm-silent-s'],
        psnrDb: a['alarm-psnr'],
        snrDb: a['alarm-snr'] ?? null,
        rssBytes: a['alarm-rss-mb'] !== undefined ? Math.round(a['alarm-rss-mb'] * MiB) : null,
        temperatureC: a['alarm-temp-c'],
      },
    },
  };
}
