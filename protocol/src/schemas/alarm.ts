/**
 * Alarms (protocol 1.2): the cloud watches every device's status and telemetry and publishes, retained on
 * `akb/v1/alarm/{device}`, the device's current alarm state: every alarm that is active now, with when it
 * started and the value that raised it. A message with `active: []` clears them all. The message is the
 * state, not an event, so a dashboard or tool that connects later reads the current alarms from the
 * retained message alone; an event log is the difference between two states.
 */
import { z } from 'zod';
import { DeviceId, EpochMillis, Text } from './common.js';

/**
 * What can be wrong with a device:
 * - `silent`: no telemetry for longer than the threshold (seconds) while its status says online, or its
 *   status went offline by the broker's last will (an unclean disconnect);
 * - `link-quality`: the reconstruction PSNR (dB) the receiver reports fell below the threshold;
 * - `snr-low`: the device's SNR estimate (dB) fell below the threshold;
 * - `memory`: the runtime's resident set (bytes) rose above the threshold;
 * - `temperature`: the board temperature (°C) rose above the threshold;
 * - `link-down` (protocol 1.3): the device's telemetry says its link cannot send (`link.up` false: a modem
 *   unplugged or silent, an SDR flowgraph refusing datagrams); value null, threshold 0.
 */
export const ALARM_KINDS = ['silent', 'link-quality', 'snr-low', 'memory', 'temperature', 'link-down'] as const;
export const AlarmKind = z.enum(ALARM_KINDS).describe('What is wrong: silent, link-quality, snr-low, memory, temperature or link-down.');
export type AlarmKind = z.infer<typeof AlarmKind>;

export const ActiveAlarm = z
  .strictObject({
    kind: AlarmKind,
    since: EpochMillis.describe('When the alarm was raised.'),
    value: z.number().min(-1e15).max(1e15).nullable().describe('The value that raised it (seconds silent, dB, bytes, °C), or null.'),
    threshold: z.number().min(-1e15).max(1e15).describe('The threshold it crossed, in the same unit.'),
    message: Text.describe('For people, e.g. "PSNR 17.2 dB below 20 dB".'),
  })
  .describe('One active alarm.');
export type ActiveAlarm = z.infer<typeof ActiveAlarm>;

export const AlarmMessage = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    device: DeviceId.describe('The device the alarms are about (the same as in the topic).'),
    ts: EpochMillis.describe('When this state was computed.'),
    active: z.array(ActiveAlarm).max(ALARM_KINDS.length).describe('Every active alarm, at most one per kind; empty: none.'),
  })
  .refine((m) => new Set(m.active.map((a) => a.kind)).size === m.active.length, { message: 'at most one alarm per kind', path: ['active'] })
  .meta({ title: 'Alarm state', description: 'The cloud, retained on akb/v1/alarm/{device}: the device\'s active alarms (protocol 1.2).' });
export type AlarmMessage = z.infer<typeof AlarmMessage>;
