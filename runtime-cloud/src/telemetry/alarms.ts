/**
 * AlarmRules: the cloud's watch over each device (protocol 1.2 "alarm"). It reads the fleet hub's
 * telemetry and status events; the checks on a sample are in alarm-checks.ts (thresholds, hysteresis);
 * `silent` is decided here: raised when an online device that has sent telemetry since its birth then
 * sends none for `silentS` (checked every second), or when its status goes offline by last will; cleared
 * by its next telemetry or birth. A device that sends no telemetry at all since its birth (akb-edge
 * without a model set, or with --telemetry-ms 0) is not silent by time: nothing was expected of it.
 * A clean shutdown clears every alarm of the device (it left on purpose).
 *
 * When the set of active kinds of a device changes, its state is published retained on
 * `akb/v1/alarm/{device}` (QoS 1) and handed to the hub (which the store, /metrics and the dashboard
 * read). At start the retained states a previous cloud left are read back (retained only; live alarm
 * messages, the cloud's own output, are not ingested), so an alarm raised before a restart keeps its
 * `since` and is cleared when the device recovers. Bounded: a device the hub forgets is forgotten here.
 */
import { ALARM_KINDS, decodeMessage, encodeMessage, filters, topics, type ActiveAlarm, type AlarmKind, type AlarmMessage, type StatusMessage, type TelemetryMessage } from '@akb/protocol';
import type { AkbMessage, MqttTransport } from '@akb/protocol/mqtt';
import { createLogger } from '@akb/protocol/log';
import type { FleetEvent, FleetHub } from './hub.js';
import { DEFAULT_THRESHOLDS, checkSample, rssThresholdOf, type AlarmThresholds } from './alarm-checks.js';

export interface AlarmRulesOptions {
  thresholds?: Partial<AlarmThresholds>;
  /** A device profile's memory in bytes, when known (akb-cloud reads the profile files). */
  memoryOf?: (profile: string) => number | undefined;
  now?: () => number;
  /** How often `silent` is checked (default 1000 ms). */
  tickMs?: number;
}

interface DeviceAlarms {
  active: Map<AlarmKind, ActiveAlarm>;
  online: boolean;
  /** When the device last showed life (telemetry or birth), cloud clock. */
  lastLife: number;
  /** Whether it sent telemetry since its last birth (only then can it fall silent by time). */
  reporting: boolean;
  profile?: string;
  /** The kinds last published, sorted and joined. */
  published: string;
}

export interface AlarmStats {
  published: number;
  publishFailures: number;
  raised: Record<AlarmKind, number>;
  active: number;
}

export class AlarmRules {
  readonly thresholds: AlarmThresholds;
  private readonly devices = new Map<string, DeviceAlarms>();
  private readonly now: () => number;
  private readonly log = createLogger('alarms');
  private readonly unroute: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private subscribed = false;
  private readonly counts = { published: 0, publishFailures: 0, raised: Object.fromEntries(ALARM_KINDS.map((k) => [k, 0])) as Record<AlarmKind, number> };

  constructor(
    private readonly client: MqttTransport,
    private readonly hub: FleetHub,
    private readonly options: AlarmRulesOptions = {},
  ) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
    this.now = options.now ?? Date.now;
  }

  /** Reads back retained states, listens to the hub and starts the `silent` clock. */
  async start(): Promise<void> {
    this.unroute.push(this.client.onMessage(filters.allAlarms, (m) => this.onRetained(m)));
    try {
      await this.client.subscribe(filters.allAlarms, { qos: 1 });
      this.subscribed = true;
    } catch (err) {
      // An ACL from before protocol 1.2's read grant: alarms still work, a restart just starts them afresh.
      this.log.warn({ err }, `cannot read back the retained alarm states (${filters.allAlarms}): alarms start afresh`);
    }
    this.unroute.push(this.hub.events.on((e) => this.onEvent(e)));
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  async stop(options: { unsubscribe?: boolean } = {}): Promise<void> {
    for (const u of this.unroute.splice(0)) u();
    clearInterval(this.timer);
    if (this.subscribed && options.unsubscribe !== false) await this.client.unsubscribe(filters.allAlarms).catch(() => undefined);
    this.subscribed = false;
  }

  /** The device's active alarms now, in ALARM_KINDS order. */
  active(device: string): ActiveAlarm[] {
    const d = this.devices.get(device);
    return d ? ALARM_KINDS.flatMap((k) => (d.active.has(k) ? [d.active.get(k)!] : [])) : [];
  }

  stats(): AlarmStats {
    let active = 0;
    for (const d of this.devices.values()) active += d.active.size;
    return { published: this.counts.published, publishFailures: this.counts.publishFailures, raised: { ...this.counts.raised }, active };
  }

  /** Raises `silent` for online devices quiet for longer than the threshold; forgets devices the hub forgot. */
  tick(): void {
    const now = this.now();
    for (const [device, d] of this.devices) {
      // Forgotten by the hub (evicted, or never heard of beyond a retained alarm state a minute on).
      if (this.hub.device(device) === undefined && now - d.lastLife > FORGET_AFTER_MS) {
        this.devices.delete(device);
        continue;
      }
      const quietS = (now - d.lastLife) / 1000;
      if (d.online && d.reporting && quietS > this.thresholds.silentS && !d.active.has('silent')) {
        this.raise(d, { kind: 'silent', value: Math.round(quietS), threshold: this.thresholds.silentS, message: `no telemetry for ${Math.round(quietS)} s (threshold ${this.thresholds.silentS} s)` }, now);
        this.publish(device, d, now);
      }
    }
  }

  private onEvent(e: FleetEvent): void {
    if (e.kind === 'telemetry') this.onTelemetry(e.device, e.message, e.receivedAt);
    else if (e.kind === 'status') this.onStatus(e.device, e.message, e.receivedAt);
  }

  private state(device: string, now: number): DeviceAlarms {
    let d = this.devices.get(device);
    if (d === undefined) {
      d = { active: new Map(), online: false, lastLife: now, reporting: false, published: '' };
      this.devices.set(device, d);
      if (this.devices.size > this.hub.maxDevices) this.devices.delete(this.devices.keys().next().value as string);
    }
    return d;
  }

  private onTelemetry(device: string, m: TelemetryMessage, at: number): void {
    const d = this.state(device, at);
    d.lastLife = at;
    d.reporting = true;
    d.active.delete('silent');
    const rss = rssThresholdOf(this.thresholds, d.profile !== undefined ? this.options.memoryOf?.(d.profile) : undefined);
    for (const [kind, verdict] of checkSample(m, this.thresholds, rss)) {
      if (verdict === 'clear') d.active.delete(kind);
      else if (verdict !== 'keep' && !d.active.has(kind)) this.raise(d, verdict.raise, at);
    }
    this.publish(device, d, at);
  }

  private onStatus(device: string, m: StatusMessage, at: number): void {
    const d = this.state(device, at);
    if (m.state === 'online') {
      d.online = true;
      d.lastLife = at;
      d.reporting = false;
      d.profile = m.profile;
      d.active.delete('silent');
    } else if (m.state === 'offline') {
      d.online = false;
      if (m.reason === 'will') {
        const quietS = Math.round((at - d.lastLife) / 1000);
        this.raise(d, { kind: 'silent', value: quietS, threshold: this.thresholds.silentS, message: `connection lost (last will), ${quietS} s after its last telemetry` }, at);
      } else {
        d.active.clear();
      }
    }
    this.publish(device, d, at);
  }

  /** A retained state from before this cloud started: its alarms become this device's, `since` kept. */
  private onRetained(m: AkbMessage): void {
    if (!m.retain || m.payload.length === 0) return;
    let message: AlarmMessage;
    try {
      message = decodeMessage('alarm', m.payload);
    } catch {
      return;
    }
    if (topics.alarm(message.device) !== m.topic || this.devices.has(message.device)) return;
    const d = this.state(message.device, this.now());
    for (const a of message.active) d.active.set(a.kind, a);
    d.online = message.active.length > 0 && !message.active.some((a) => a.kind === 'silent');
    d.published = key(d);
  }

  private raise(d: DeviceAlarms, alarm: Omit<ActiveAlarm, 'since'>, at: number): void {
    if (d.active.has(alarm.kind)) return;
    d.active.set(alarm.kind, { ...alarm, since: at });
    this.counts.raised[alarm.kind]++;
  }

  /** Publishes the device's state when its set of active kinds changed. */
  private publish(device: string, d: DeviceAlarms, at: number): void {
    const k = key(d);
    if (k === d.published) return;
    d.published = k;
    const message: AlarmMessage = { v: 1, device, ts: at, active: this.active(device) };
    let payload: string;
    try {
      payload = encodeMessage('alarm', message);
    } catch (err) {
      this.counts.publishFailures++;
      this.log.warn({ err, device }, 'alarm state not valid: not published');
      return;
    }
    this.hub.publish({ kind: 'alarm', device, receivedAt: at, message });
    this.client.publish(topics.alarm(device), payload, { qos: 1, retain: true }).then(
      () => void this.counts.published++,
      (err: unknown) => {
        this.counts.publishFailures++;
        this.log.warn({ err, device }, 'alarm state not published');
      },
    );
  }
}

const FORGET_AFTER_MS = 60_000;

function key(d: DeviceAlarms): string {
  return [...d.active.keys()].sort().join(',');
}
