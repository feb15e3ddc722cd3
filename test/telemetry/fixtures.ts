/** Valid protocol messages for the telemetry tests (each satisfies its schema; the tests check that too). */
import type { AlarmMessage, StatusMessage, TelemetryMessage } from '@akb/protocol';

export function sample(device: string, seq: number, over: Partial<TelemetryMessage> = {}): TelemetryMessage {
  return {
    v: 1,
    device,
    ts: 1_767_225_600_000 + seq * 1000,
    seq,
    latencyMs: { encode: 12.5, send: 3 },
    action: { id: 3, ratePrefix: 256, power: 1 },
    snrDb: 7.5,
    quality: { psnr: 27.25, ssim: 0.81 },
    kbVersion: 3,
    cpuPercent: 41.5,
    memoryRssBytes: 150 * 2 ** 20,
    temperatureC: 52,
    counters: { framesSent: seq, framesDropped: 0, framesMalformed: 0 },
    ...over,
  };
}

export function birth(device: string, session = 100, ts = 1_767_225_600_000): StatusMessage {
  return {
    v: 1,
    device,
    session,
    ts,
    state: 'online',
    profile: 'rpi-5',
    bootTime: ts - 5000,
    versions: { runtime: '0.1.0', protocol: '1.2', models: [], kb: null },
    capabilities: ['proto:1.2'],
  };
}

export function death(device: string, reason: 'will' | 'shutdown', session = 100, ts = 1_767_225_600_000): StatusMessage {
  return { v: 1, device, session, ts, state: 'offline', reason };
}

export function alarmState(device: string, ts: number, kinds: AlarmMessage['active'][number]['kind'][] = []): AlarmMessage {
  return {
    v: 1,
    device,
    ts,
    active: kinds.map((kind) => ({ kind, since: ts, value: 1, threshold: 2, message: `${kind} test` })),
  };
}
