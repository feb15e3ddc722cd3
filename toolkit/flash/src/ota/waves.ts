/**
 * How a job cuts its devices into waves and when it halts (protocol/PROTOCOL.md, "Jobs"): a canary wave of
 * max(1, round(canary·N)) devices (none when canary is 0), then waves of max(1, round(wave·N)), in the
 * order the devices were given; the job halts once more than floor(maxFailures·N) devices have failed.
 */
import { AkbError, OTA_MAX_JOB_DEVICES } from '@akb/protocol';

export interface WavePolicy {
  /** Share of the devices in the canary wave, 0 to 1. */
  canary: number;
  /** Share of the devices in each later wave, above 0 to 1. */
  wave: number;
  /** The job halts once failures exceed this share of all devices, 0 to 1. */
  maxFailures: number;
}

export function planWaves(devices: readonly string[], policy: WavePolicy): string[][] {
  if (devices.length === 0) throw new AkbError('BAD_OPTION', 'a job needs at least one device', { exitCode: 2 });
  if (devices.length > OTA_MAX_JOB_DEVICES) {
    throw new AkbError('BAD_OPTION', `${devices.length} devices in one job; at most ${OTA_MAX_JOB_DEVICES}`, { hint: 'split the fleet into several jobs', exitCode: 2 });
  }
  if (new Set(devices).size !== devices.length) throw new AkbError('BAD_OPTION', 'a device is named twice in the job', { exitCode: 2 });
  const n = devices.length;
  const waves: string[][] = [];
  let at = 0;
  if (policy.canary > 0) {
    const size = Math.min(n, Math.max(1, Math.round(policy.canary * n)));
    waves.push(devices.slice(0, size));
    at = size;
  }
  const size = Math.max(1, Math.round(policy.wave * n));
  for (; at < n; at += size) waves.push(devices.slice(at, at + size));
  return waves;
}

/** How many failures a job tolerates: more than this halts it. */
export function failureLimit(devices: number, maxFailures: number): number {
  return Math.floor(maxFailures * devices + 1e-9);
}

/** "10%", "0.1" or "10" (percent when above 1) as a share; throws BAD_OPTION with the option's name. */
export function parseShare(text: string | number, option: string, allowZero = true): number {
  const s = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(s);
  const value = m ? Number(m[1]) / (m[2] === '%' || Number(m[1]) > 1 ? 100 : 1) : NaN;
  if (!Number.isFinite(value) || value > 1 || (!allowZero && value === 0)) {
    throw new AkbError('BAD_OPTION', `--${option} ${JSON.stringify(s.slice(0, 40))} is not a share of the devices`, {
      hint: `write a percentage such as 10% (${allowZero ? '0%' : 'above 0%'} to 100%)`,
      exitCode: 2,
    });
  }
  return value;
}
