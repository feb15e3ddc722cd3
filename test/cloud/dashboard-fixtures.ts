/** Protocol messages and hub events for the dashboard tests (each valid by its schema: the tests decode them). */
import type { AlarmMessage, OtaJob, StatusMessage, TelemetryMessage } from '@akb/protocol';
import type { FleetHub, ImageEvent } from '../../runtime-cloud/src/telemetry/hub.js';

export const T0 = 1_767_225_600_000;

export function telemetry(device: string, seq: number, over: Partial<TelemetryMessage> = {}): TelemetryMessage {
  return {
    v: 1,
    device,
    ts: T0 + seq * 1000,
    seq,
    latencyMs: { encode: 12.5, send: 3, total: 40 + seq },
    action: { id: 3, ratePrefix: 256, power: 1.5 },
    snrDb: 5 + (seq % 10),
    quality: { psnr: 25 + (seq % 5) / 2 },
    cpuPercent: 40,
    memoryRssBytes: 150 * 2 ** 20 + seq * 4096,
    counters: { framesSent: seq, framesDropped: 0, framesMalformed: 0 },
    ...over,
  };
}

export function birth(device: string, profile = 'rpi-5', ts = T0): StatusMessage {
  return {
    v: 1,
    device,
    session: 100,
    ts,
    state: 'online',
    profile,
    bootTime: ts - 5000,
    versions: { runtime: '0.1.0', protocol: '1.2', models: [], kb: null },
    capabilities: ['proto:1.2'],
  };
}

export function updating(device: string, ts = T0): StatusMessage {
  return { v: 1, device, session: 200, ts, state: 'updating', phase: 'writing', message: 'writing slot B' };
}

export function alarm(device: string, ts: number, message: string, kind: AlarmMessage['active'][number]['kind'] = 'link-quality'): AlarmMessage {
  return { v: 1, device, ts, active: [{ kind, since: ts, value: 17.2, threshold: 20, message }] };
}

export function job(id: string, ts = T0, message?: string): OtaJob {
  return {
    v: 1,
    job: id,
    ts,
    state: message === undefined ? 'running' : 'halted',
    bundle: { name: 'akb-edge', version: '1.2.0', sha256: 'a'.repeat(64), size: 1000, targets: ['rpi-5'] },
    policy: { canary: 0.1, wave: 0.5, maxFailures: 0.2 },
    wave: 0,
    waves: 2,
    devices: [
      { id: 'cam-01', wave: 0, phase: 'ok', bytes: 1000 },
      { id: 'cam-02', wave: 1, phase: 'pending', bytes: 0 },
    ],
    ...(message !== undefined ? { message } : {}),
  };
}

export function imageEvent(device: string, png: Uint8Array, name: string | null = 'kodim01.png', finishedAt = Date.now()): ImageEvent {
  return { device, name, modelSet: 'akb-k256', width: 64, height: 48, psnr: 27.5, meanSnrDb: 6, complete: true, finishedAt, png };
}

/** A device's birth and `n` telemetry samples, into the hub. */
export function feedDevice(hub: FleetHub, device: string, n: number, profile = 'rpi-5'): void {
  const now = Date.now();
  hub.publish({ kind: 'status', device, receivedAt: now, message: birth(device, profile) });
  for (let i = 0; i < n; i++) hub.publish({ kind: 'telemetry', device, receivedAt: now + i, message: telemetry(device, i) });
}
