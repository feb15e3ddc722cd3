/**
 * What travels on each topic of the tree in topics.ts: payload, QoS, retain flag and who publishes.
 * PROTOCOL.md's topic table is checked against this list, and runtimes may read QoS and retain from it
 * instead of repeating them.
 */
import type { MessageKind } from './index.js';

/** MQTT quality of service. */
export type QosLevel = 0 | 1 | 2;

export interface TopicSpec {
  /** Topic with `{device}` / `{client}` / `{job}` placeholders for one level each. */
  readonly topic: string;
  /** Who talks to whom. */
  readonly direction: string;
  /** A message kind (JSON, see schema/<kind>.schema.json), or `frame` for the binary symbol frame. */
  readonly payload: MessageKind | 'frame';
  /** What the envelope's args or data hold, for request/response topics. */
  readonly carries?: MessageKind;
  readonly qos: QosLevel;
  readonly retained: boolean;
  /** Who may publish, which is what a broker ACL grants. */
  readonly publishers: string;
}

export const TOPIC_CATALOG: readonly TopicSpec[] = [
  { topic: 'akb/v1/dev/{device}/status', direction: 'edge → all', payload: 'status', qos: 1, retained: true, publishers: 'the device; the broker (last will)' },
  { topic: 'akb/v1/dev/{device}/telemetry', direction: 'edge → dashboards, tools', payload: 'telemetry', qos: 1, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/link/tx', direction: 'edge → channel', payload: 'frame', qos: 0, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/link/rx', direction: 'channel → cloud', payload: 'frame', qos: 0, retained: false, publishers: 'emulator or radio gateway' },
  { topic: 'akb/v1/dev/{device}/link/meta', direction: 'edge → cloud', payload: 'image-meta', qos: 1, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/feedback', direction: 'cloud → edge', payload: 'feedback', qos: 0, retained: false, publishers: 'cloud (the receiver)' },
  { topic: 'akb/v1/dev/{device}/cmd/req', direction: 'cloud, tools → edge', payload: 'request', qos: 1, retained: false, publishers: 'cloud, tools' },
  { topic: 'akb/v1/dev/{device}/cmd/res', direction: 'edge → requester', payload: 'response', qos: 1, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/ota/offer', direction: 'sender → edge', payload: 'ota-offer', qos: 1, retained: false, publishers: 'tools, cloud' },
  { topic: 'akb/v1/dev/{device}/ota/get', direction: 'edge → sender', payload: 'ota-get', qos: 1, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/ota/block', direction: 'sender → edge', payload: 'ota-block', qos: 1, retained: false, publishers: 'tools, cloud' },
  { topic: 'akb/v1/dev/{device}/ota/progress', direction: 'edge → sender', payload: 'ota-progress', qos: 0, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/ota/result', direction: 'edge → sender', payload: 'ota-result', qos: 1, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/kb/req', direction: 'edge → cloud', payload: 'request', carries: 'kb-entry-request', qos: 1, retained: false, publishers: 'the device' },
  { topic: 'akb/v1/dev/{device}/kb/res', direction: 'cloud → edge', payload: 'response', carries: 'kb-entry-response', qos: 1, retained: false, publishers: 'cloud' },
  { topic: 'akb/v1/fleet/kb/announce', direction: 'cloud → all', payload: 'kb-announce', qos: 1, retained: true, publishers: 'cloud' },
  { topic: 'akb/v1/fleet/cmd/req', direction: 'cloud → every edge', payload: 'request', qos: 1, retained: false, publishers: 'cloud' },
  { topic: 'akb/v1/cloud/req', direction: 'edge, tools → cloud', payload: 'request', qos: 1, retained: false, publishers: 'devices, tools' },
  { topic: 'akb/v1/cloud/ops/req', direction: 'tools → cloud', payload: 'request', qos: 1, retained: false, publishers: 'tools (never devices)' },
  { topic: 'akb/v1/cloud/res/{client}', direction: 'cloud → requester', payload: 'response', qos: 1, retained: false, publishers: 'cloud' },
  { topic: 'akb/v1/ota/job/{job}', direction: 'sender → tools', payload: 'ota-job', qos: 1, retained: true, publishers: 'the sender running the job (tools)' },
  { topic: 'akb/v1/ota/job/{job}/abort', direction: 'tools → sender', payload: 'ota-abort', qos: 1, retained: false, publishers: 'tools' },
  { topic: 'akb/v1/alarm/{device}', direction: 'cloud → dashboards, tools', payload: 'alarm', qos: 1, retained: true, publishers: 'cloud' },
  { topic: 'akb/v1/link/ctl/req', direction: 'tools → channel emulator', payload: 'request', carries: 'channel-set', qos: 1, retained: false, publishers: 'tools (never devices)' },
  { topic: 'akb/v1/link/ctl/res/{client}', direction: 'channel emulator → requester', payload: 'response', qos: 1, retained: false, publishers: 'channel emulator' },
];
