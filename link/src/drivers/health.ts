/**
 * A link's health for telemetry (protocol 1.3 `telemetry.link`): `TrackedLink` wraps any driver, passes
 * everything through, and watches what its sends and its error listeners say. The link is **down** from a
 * fault that stops it sending (the serial port gone or refusing to open, a modem that does not answer or
 * talks nonsense, an SDR peer refusing datagrams) until the next send that goes through; other faults (a
 * duty-cycle drop, a modem reset it recovered from) are recorded as the last fault without taking it down.
 * Radio counters come from the driver's stats where it has them (serial: airtime, packets lost/retried,
 * duty-cycle drops; every driver: send failures).
 */
import { isAkbError, type LinkHealth } from '@akb/protocol';
import type { FeedbackMessage } from '@akb/protocol';
import type { LinkCapabilities, LinkDriver, LinkStats } from './driver.js';

/** Error codes after which a link cannot send until a send goes through again. */
export const LINK_DOWN_CODES: ReadonlySet<string> = new Set(['LINE_CLOSED', 'PORT_OPEN', 'MODEM_TIMEOUT', 'MODEM_PROTOCOL', 'SDR_PEER_UNREACHABLE', 'LINK_CLOSED']);

const MESSAGE_MAX = 256;

export class TrackedLink implements LinkDriver {
  private up = true;
  private fault: LinkHealth['fault'];
  private readonly stopErrors: () => void;

  constructor(private readonly inner: LinkDriver, private readonly now: () => number = Date.now) {
    this.stopErrors = inner.onError((e) => this.record(e));
  }

  get name(): string {
    return this.inner.name;
  }

  get capabilities(): LinkCapabilities {
    return this.inner.capabilities;
  }

  get stats(): Readonly<LinkStats> {
    return this.inner.stats;
  }

  async send(fragments: readonly Uint8Array[]): Promise<void> {
    try {
      await this.inner.send(fragments);
    } catch (e) {
      this.record(e);
      throw e;
    }
    // A send that went through (fragments handed on) brings the link back up.
    this.up = true;
  }

  onFeedback(listener: (feedback: FeedbackMessage) => unknown): () => void {
    return this.inner.onFeedback(listener);
  }

  onError(listener: (error: Error) => unknown): () => void {
    return this.inner.onError(listener);
  }

  async close(): Promise<void> {
    this.stopErrors();
    await this.inner.close();
  }

  /** The health as telemetry carries it. */
  health(): LinkHealth {
    const s = this.inner.stats as Readonly<LinkStats> & Record<string, unknown>;
    const count = (key: string): number | undefined => {
      const v = s[key];
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
    };
    const airtime = s.airtimeMs;
    const encoding = s.symbolEncoding;
    const counters = { packetsLost: count('packetsLost'), packetsRetried: count('packetsRetried'), dutyCycleDrops: count('dutyCycleDrops'), sendFailures: count('sendFailures') };
    return {
      driver: this.inner.name,
      up: this.up,
      ...(this.fault ? { fault: this.fault } : {}),
      ...(encoding === 'float32' || encoding === 'float16' || encoding === 'int8' ? { symbolEncoding: encoding } : {}),
      ...(typeof airtime === 'number' && Number.isFinite(airtime) && airtime >= 0 ? { airtimeMs: Math.round(airtime * 10) / 10 } : {}),
      ...Object.fromEntries(Object.entries(counters).filter(([, v]) => v !== undefined)),
    };
  }

  private record(e: unknown): void {
    const code = isAkbError(e) && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.code) ? e.code : 'LINK_ERROR';
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, MESSAGE_MAX);
    this.fault = { code, message, ts: Math.round(this.now()) };
    if (LINK_DOWN_CODES.has(code)) this.up = false;
  }
}
