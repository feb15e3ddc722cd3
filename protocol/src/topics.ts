/**
 * The MQTT topic tree, version 1. Every device's topics sit under one prefix, so that a per-device access
 * rule is a single pattern (Mosquitto: `pattern readwrite akb/v1/dev/%u/#`). Fleet-wide topics, written by
 * the cloud only, sit under `akb/v1/fleet/`.
 *
 *   akb/v1/dev/{device}/status          retained JSON: birth (online) and death (offline, the last will)
 *   akb/v1/dev/{device}/telemetry       JSON telemetry samples, QoS 1
 *   akb/v1/dev/{device}/link/tx         binary symbol frames as sent by the edge
 *   akb/v1/dev/{device}/link/rx         binary symbol frames after the channel (emulator or gateway)
 *   akb/v1/dev/{device}/link/meta       JSON image-meta before the frames of one image
 *   akb/v1/dev/{device}/feedback        JSON feedback from the receiver to the edge
 *   akb/v1/dev/{device}/cmd/req         JSON request envelopes to the device
 *   akb/v1/dev/{device}/cmd/res         JSON response envelopes from the device
 *   akb/v1/dev/{device}/ota/{kind}      OTA transfer: offer, block requests, blocks, progress, result
 *   akb/v1/dev/{device}/kb/{kind}       KB sync: requests and responses of one device
 *   akb/v1/fleet/kb/announce            retained JSON: the current source-KB version
 *   akb/v1/fleet/cmd/req                JSON request envelopes to every device
 *   akb/v1/cloud/req                    requests any device or tool may send the cloud (ping, kb.entries)
 *   akb/v1/cloud/ops/req                operator requests to the cloud (fleet, intents, KB reload, stats):
 *                                       tools only, the broker ACL grants devices no write here
 *   akb/v1/cloud/res/{client}           the cloud's answers to both, by the request's `from`
 *   akb/v1/ota/job/{job}                retained JSON: the state of an OTA rollout (protocol 1.1), by its sender
 *   akb/v1/ota/job/{job}/abort          a tool asks the sender of a job to stop it; devices may not write either
 *   akb/v1/alarm/{device}               retained JSON: the device's active alarms, by the cloud (protocol 1.2)
 *   akb/v1/link/ctl/req                 tools ask a channel emulator to change the channel (protocol 1.2)
 *   akb/v1/link/ctl/res/{client}        the emulator's answers, by the request's `from`
 *
 * Where each request is answered is fixed by its topic: reply-topic.ts.
 */
import { ProtocolError } from './errors.js';

export const TOPIC_ROOT = 'akb/v1';
export const OTA_KINDS = ['offer', 'get', 'block', 'progress', 'result'] as const;
export const KB_KINDS = ['req', 'res'] as const;
export type OtaKind = (typeof OTA_KINDS)[number];
export type KbKind = (typeof KB_KINDS)[number];

/** Device ids: 1 to 64 characters of letters, digits, '-', '_' and '.', so they are safe in a topic level. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function assertDeviceId(id: string): string {
  if (!DEVICE_ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new ProtocolError('BAD_TOPIC', `invalid device id ${JSON.stringify(id)}`, {
      hint: 'use 1-64 letters, digits, ".", "-" or "_"',
    });
  }
  return id;
}

const dev = (id: string): string => `${TOPIC_ROOT}/dev/${assertDeviceId(id)}`;

export const topics = {
  device: (id: string) => `${dev(id)}/#`,
  status: (id: string) => `${dev(id)}/status`,
  telemetry: (id: string) => `${dev(id)}/telemetry`,
  linkTx: (id: string) => `${dev(id)}/link/tx`,
  linkRx: (id: string) => `${dev(id)}/link/rx`,
  linkMeta: (id: string) => `${dev(id)}/link/meta`,
  feedback: (id: string) => `${dev(id)}/feedback`,
  cmdReq: (id: string) => `${dev(id)}/cmd/req`,
  cmdRes: (id: string) => `${dev(id)}/cmd/res`,
  ota: (id: string, kind: OtaKind) => `${dev(id)}/ota/${kind}`,
  kb: (id: string, kind: KbKind) => `${dev(id)}/kb/${kind}`,
  kbAnnounce: () => `${TOPIC_ROOT}/fleet/kb/announce`,
  fleetCmdReq: () => `${TOPIC_ROOT}/fleet/cmd/req`,
  cloudReq: () => `${TOPIC_ROOT}/cloud/req`,
  cloudOpsReq: () => `${TOPIC_ROOT}/cloud/ops/req`,
  cloudRes: (clientId: string) => `${TOPIC_ROOT}/cloud/res/${assertDeviceId(clientId)}`,
  /** Job ids follow the device id rule, so they are safe in a topic level. */
  otaJob: (jobId: string) => `${TOPIC_ROOT}/ota/job/${assertDeviceId(jobId)}`,
  otaJobAbort: (jobId: string) => `${TOPIC_ROOT}/ota/job/${assertDeviceId(jobId)}/abort`,
  alarm: (id: string) => `${TOPIC_ROOT}/alarm/${assertDeviceId(id)}`,
  linkCtlReq: () => `${TOPIC_ROOT}/link/ctl/req`,
  linkCtlRes: (clientId: string) => `${TOPIC_ROOT}/link/ctl/res/${assertDeviceId(clientId)}`,
} as const;

/** Subscription filters, with `+` for the device level. */
export const filters = {
  allStatus: `${TOPIC_ROOT}/dev/+/status`,
  allTelemetry: `${TOPIC_ROOT}/dev/+/telemetry`,
  allLinkTx: `${TOPIC_ROOT}/dev/+/link/tx`,
  allLinkRx: `${TOPIC_ROOT}/dev/+/link/rx`,
  allLinkMeta: `${TOPIC_ROOT}/dev/+/link/meta`,
  allCmdRes: `${TOPIC_ROOT}/dev/+/cmd/res`,
  allAlarms: `${TOPIC_ROOT}/alarm/+`,
  allOtaJobs: `${TOPIC_ROOT}/ota/job/+`,
  allOta: (kind: OtaKind) => `${TOPIC_ROOT}/dev/+/ota/${kind}`,
  /** A shared subscription: the broker hands each message to one member of `group`. */
  shared: (group: string, filter: string) => `$share/${assertDeviceId(group)}/${filter}`,
} as const;

export type DeviceTopicKind =
  | 'status'
  | 'telemetry'
  | 'link/tx'
  | 'link/rx'
  | 'link/meta'
  | 'feedback'
  | 'cmd/req'
  | 'cmd/res'
  | `ota/${OtaKind}`
  | `kb/${KbKind}`;

const DEVICE_KINDS: ReadonlySet<string> = new Set<DeviceTopicKind>([
  'status', 'telemetry', 'link/tx', 'link/rx', 'link/meta', 'feedback', 'cmd/req', 'cmd/res',
  ...OTA_KINDS.map((k) => `ota/${k}` as const),
  ...KB_KINDS.map((k) => `kb/${k}` as const),
]);

/** Splits a device topic into its device id and kind; throws ProtocolError('BAD_TOPIC') for anything else. */
export function parseDeviceTopic(topic: string): { device: string; kind: DeviceTopicKind } {
  const prefix = `${TOPIC_ROOT}/dev/`;
  if (!topic.startsWith(prefix)) throw new ProtocolError('BAD_TOPIC', `not an akb device topic: ${topic.slice(0, 200)}`);
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  const device = slash < 0 ? rest : rest.slice(0, slash);
  const kind = slash < 0 ? '' : rest.slice(slash + 1);
  assertDeviceId(device);
  if (!DEVICE_KINDS.has(kind)) throw new ProtocolError('BAD_TOPIC', `unknown device topic kind "${kind.slice(0, 100)}"`);
  return { device, kind: kind as DeviceTopicKind };
}
