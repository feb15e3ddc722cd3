/**
 * Periodic `telemetry` samples on `topics.telemetry(device)`, QoS 1 (the MQTT client queues them while
 * the broker is away): the last image's per-stage latency, the last action, the SNR estimate, the quality
 * fed back, CPU %, RSS, the board temperature where the board has a thermal zone, and running counters.
 */
import { encodeMessage, topics, type LinkHealth, type TelemetryMessage } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import type { EdgePipeline } from '../pipeline/pipeline.js';
import { CpuMeter, Thermometer } from './system.js';

export interface TelemetryReporterOptions {
  transport: MqttTransport;
  deviceId: string;
  pipeline: EdgePipeline;
  /** Sample period, ms (default 1000). */
  intervalMs?: number;
  /** Incoming messages that failed to decode (e.g. the link's malformed feedback). */
  framesMalformed?: () => number;
  /** The link's health (protocol 1.3 `link`; TrackedLink.health), sent with every sample when given. */
  linkHealth?: () => LinkHealth;
  temperaturePath?: string;
  onError?: (error: unknown) => void;
}

const MAX_MS = 3_600_000;
const ms = (v: number): number => Math.min(MAX_MS, Math.max(0, Math.round(v * 1000) / 1000));

export class TelemetryReporter {
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly cpu = new CpuMeter();
  private readonly thermometer: Thermometer;
  private readonly inflight = new Set<Promise<unknown>>();
  readonly stats = { published: 0, failed: 0 };

  constructor(private readonly options: TelemetryReporterOptions) {
    this.thermometer = new Thermometer(options.temperaturePath);
    topics.telemetry(options.deviceId); // checks the device id now
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.publishNow().catch(() => undefined), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Takes one sample (without publishing it). */
  async sample(): Promise<TelemetryMessage> {
    const { pipeline, deviceId } = this.options;
    const report = pipeline.lastReport;
    const counters = pipeline.counters;
    const state = pipeline.policy.state;
    const temperatureC = await this.thermometer.read();
    const psnr = pipeline.lastFeedback?.psnr;
    const message: TelemetryMessage = {
      v: 1,
      device: deviceId,
      ts: Date.now(),
      seq: this.seq,
      session: pipeline.sessionId,
      latencyMs: {},
      snrDb: state.measured ? Math.min(100, Math.max(-100, state.est)) : null,
      kbVersion: pipeline.set.kb ? pipeline.kbVersion : null,
      cpuPercent: this.cpu.sample(),
      memoryRssBytes: process.memoryUsage.rss(),
      ...(temperatureC === undefined ? {} : { temperatureC }),
      ...(psnr === undefined ? {} : { quality: { psnr } }),
      counters: {
        framesSent: counters.framesSent,
        framesDropped: counters.framesDropped,
        framesMalformed: this.options.framesMalformed?.() ?? 0,
        fragmentsSent: counters.fragmentsSent,
        fragmentsLost: counters.fragmentsLost,
        feedbackReceived: counters.feedbackReceived,
        bytesSent: counters.bytesSent,
      },
      ...(this.options.linkHealth ? { link: this.options.linkHealth() } : {}),
    };
    if (report) {
      const t = report.ms;
      message.frameId = (report.firstFrameId + report.tiles - 1) >>> 0;
      message.latencyMs = {
        capture: ms((t.decode ?? 0) + t.tile),
        policy: ms(t.policy),
        encode: ms(t.embed + t.encode),
        frame: ms(t.frame),
        send: ms(t.send),
        total: ms(t.total),
      };
      message.action = report.lastAction;
    }
    return message;
  }

  /** Samples and publishes now (QoS 1); resolves with what was sent. */
  async publishNow(): Promise<TelemetryMessage> {
    const message = await this.sample();
    this.seq = (this.seq + 1) >>> 0;
    const p = this.options.transport.publish(topics.telemetry(this.options.deviceId), encodeMessage('telemetry', message), { qos: 1 });
    this.inflight.add(p);
    try {
      await p;
      this.stats.published++;
    } catch (e) {
      this.stats.failed++;
      this.options.onError?.(e);
      throw e;
    } finally {
      this.inflight.delete(p);
    }
    return message;
  }

  /** Stops sampling; waits (briefly) for samples still being published. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
