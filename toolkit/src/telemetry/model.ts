/**
 * The fleet as `akb telemetry` sees it: one row per device, built from the status, telemetry and alarm
 * messages on the broker. Every message is hostile: it is decoded by the protocol's decoders (size limit,
 * UTF-8, depth, schema) and its `device` must be the one its topic names; anything else is counted, never
 * thrown. Bounded: at most `maxDevices` rows (the least recently heard is forgotten and counted).
 */
import {
  AkbError,
  decodeMessage,
  parseDeviceTopic,
  TOPIC_ROOT,
  type Action,
  type ActiveAlarm,
  type StatusMessage,
} from '@akb/protocol';

export const MAX_DEVICES = 10_000;

/** What the view knows of one device. Every field but `device` and `lastSeen` may still be unknown. */
export interface DeviceRow {
  device: string;
  /** online, offline or updating (the install agent's state), from the retained status. */
  state: StatusMessage['state'] | null;
  /** The install phase while `state` is updating. */
  phase: string | null;
  profile: string | null;
  /** When this view last received anything of the device (ms since the epoch, this machine's clock). */
  lastSeen: number;
  /** `ts` of the latest telemetry sample (the device's clock). */
  sampleTs: number | null;
  snrDb: number | null;
  action: Action | null;
  psnr: number | null;
  ssim: number | null;
  latencyMs: number | null;
  rssBytes: number | null;
  cpuPercent: number | null;
  temperatureC: number | null;
  alarms: ActiveAlarm[];
  /** The session of the latest birth, so that a late death of an earlier connection is not believed. */
  session: number | null;
}

export interface ModelCounters {
  /** Messages received on the subscribed topics. */
  messages: number;
  /** Messages refused: too large, not UTF-8 or JSON, or not the schema. */
  malformed: number;
  /** Messages whose `device` is not the device of their topic (a device publishing as another). */
  mismatched: number;
  /** Deaths of an earlier connection that arrived after a newer birth. */
  stale: number;
  /** Devices forgotten to stay within `maxDevices`. */
  forgotten: number;
  /** Messages of devices the `--device` patterns leave out. */
  filtered: number;
}

export type MessageKind = 'status' | 'telemetry' | 'alarm';

export interface ModelOptions {
  maxDevices?: number;
  /** `--device` patterns: ids, or globs with `*` and `?`; empty: every device. */
  patterns?: readonly string[];
}

const GLOB = /^[A-Za-z0-9._*?-]{1,64}$/;

/** A matcher for `--device` patterns; throws AkbError (exit 2) for a pattern no device id could match. */
export function deviceMatcher(patterns: readonly string[]): (device: string) => boolean {
  if (patterns.length === 0) return () => true;
  const res = patterns.map((p) => {
    if (!GLOB.test(p)) {
      throw new AkbError('BAD_DEVICE_PATTERN', `--device ${JSON.stringify(p.slice(0, 80))} is not a device id or glob`, {
        hint: 'use 1-64 letters, digits, ".", "-", "_", with "*" for any run and "?" for one character',
        exitCode: 2,
      });
    }
    const body = p.replace(/[.*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : '\\.'));
    return new RegExp(`^${body}$`);
  });
  return (device) => res.some((re) => re.test(device));
}

/** The kind of an akb topic this view reads, with its device; undefined for any other topic. */
export function classifyTopic(topic: string): { kind: MessageKind; device: string } | undefined {
  const alarmPrefix = `${TOPIC_ROOT}/alarm/`;
  try {
    if (topic.startsWith(alarmPrefix)) {
      const device = topic.slice(alarmPrefix.length);
      return /^[A-Za-z0-9._-]{1,64}$/.test(device) && device !== '.' && device !== '..' ? { kind: 'alarm', device } : undefined;
    }
    const { device, kind } = parseDeviceTopic(topic);
    return kind === 'status' || kind === 'telemetry' ? { kind, device } : undefined;
  } catch {
    return undefined;
  }
}

function emptyRow(device: string, now: number): DeviceRow {
  return {
    device, state: null, phase: null, profile: null, lastSeen: now, sampleTs: null, snrDb: null, action: null, psnr: null,
    ssim: null, latencyMs: null, rssBytes: null, cpuPercent: null, temperatureC: null, alarms: [], session: null,
  };
}

export class FleetModel {
  readonly counters: ModelCounters = { messages: 0, malformed: 0, mismatched: 0, stale: 0, forgotten: 0, filtered: 0 };
  private readonly rows = new Map<string, DeviceRow>();
  private readonly maxDevices: number;
  private readonly wanted: (device: string) => boolean;

  constructor(options: ModelOptions = {}) {
    this.maxDevices = options.maxDevices ?? MAX_DEVICES;
    this.wanted = deviceMatcher(options.patterns ?? []);
  }

  /**
   * Applies one message; returns the device's row when the message changed it, undefined when it was
   * refused, filtered out, or not a topic this view reads. Never throws.
   */
  apply(topic: string, payload: Uint8Array, now: number = Date.now()): DeviceRow | undefined {
    const where = classifyTopic(topic);
    if (where === undefined) return undefined;
    this.counters.messages++;
    if (!this.wanted(where.device)) {
      this.counters.filtered++;
      return undefined;
    }
    try {
      return this.applyKind(where.kind, where.device, payload, now);
    } catch {
      this.counters.malformed++;
      return undefined;
    }
  }

  private applyKind(kind: MessageKind, device: string, payload: Uint8Array, now: number): DeviceRow | undefined {
    if (kind === 'telemetry') {
      const m = decodeMessage('telemetry', payload);
      if (m.device !== device) return this.mismatch();
      const row = this.touch(device, now);
      row.sampleTs = m.ts;
      row.snrDb = m.snrDb;
      row.action = m.action ?? row.action;
      row.psnr = m.quality?.psnr ?? row.psnr;
      row.ssim = m.quality?.ssim ?? row.ssim;
      row.latencyMs = m.latencyMs.total ?? row.latencyMs;
      row.rssBytes = m.memoryRssBytes;
      row.cpuPercent = m.cpuPercent;
      row.temperatureC = m.temperatureC ?? row.temperatureC;
      return row;
    }
    if (kind === 'alarm') {
      const m = decodeMessage('alarm', payload);
      if (m.device !== device) return this.mismatch();
      const row = this.touch(device, now);
      row.alarms = m.active;
      return row;
    }
    const m = decodeMessage('status', payload);
    if (m.device !== device) return this.mismatch();
    const known = this.rows.get(device);
    if (m.state === 'offline' && known?.session != null && m.session < known.session) {
      this.counters.stale++;
      return undefined;
    }
    const row = this.touch(device, now);
    row.state = m.state;
    row.phase = m.state === 'updating' ? m.phase : null;
    if (m.state === 'online') {
      row.profile = m.profile;
      row.session = m.session;
    }
    return row;
  }

  private mismatch(): undefined {
    this.counters.mismatched++;
    return undefined;
  }

  private touch(device: string, now: number): DeviceRow {
    let row = this.rows.get(device);
    if (row === undefined) {
      row = emptyRow(device, now);
      this.rows.set(device, row);
      if (this.rows.size > this.maxDevices) {
        const oldest = this.rows.keys().next().value as string;
        this.rows.delete(oldest);
        this.counters.forgotten++;
      }
    } else {
      // Re-inserted, so iteration order is least recently heard first.
      this.rows.delete(device);
      this.rows.set(device, row);
    }
    row.lastSeen = Math.max(row.lastSeen, now);
    return row;
  }

  get size(): number {
    return this.rows.size;
  }

  /** Every row, sorted by device id. */
  list(): DeviceRow[] {
    return [...this.rows.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }
}

/** One `--json` line's object for a row: the row as it is now, with `ts` the time of the update. */
export function rowJson(row: DeviceRow, kind: MessageKind | null, now: number): Record<string, unknown> {
  return {
    ts: now,
    device: row.device,
    ...(kind !== null ? { update: kind } : {}),
    state: row.state,
    phase: row.phase,
    profile: row.profile,
    lastSeen: row.lastSeen,
    sampleTs: row.sampleTs,
    snrDb: row.snrDb,
    action: row.action,
    psnr: row.psnr,
    ssim: row.ssim,
    latencyMs: row.latencyMs,
    rssBytes: row.rssBytes,
    cpuPercent: row.cpuPercent,
    temperatureC: row.temperatureC,
    alarms: row.alarms.map((a) => ({ kind: a.kind, since: a.since, value: a.value, threshold: a.threshold, message: a.message })),
  };
}
