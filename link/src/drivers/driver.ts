/**
 * The link driver interface: how the edge sends frames, whatever carries them (an in-process channel
 * model, MQTT to a gateway or the emulator service, later a serial modem or an SDR). A driver is honest
 * about what its link can take: the largest fragment (MTU, bytes), the symbol dtypes it carries (a link
 * without float32 needs quantized symbols) and, when known, its rate. Fragments are complete encoded
 * frames (`fragmentSymbols` output); a lost fragment is an erasure the receiver works around.
 */
import { AkbError, decodeMessage, peekFrameHeader, topics, type FeedbackMessage, type SymbolDtype } from '@akb/protocol';
import { Fanout, type MqttTransport } from '@akb/protocol/mqtt';

export interface LinkRate {
  /** Complex symbols per second (analog links). */
  readonly symbolsPerSecond?: number;
  /** Bytes per second of encoded fragments (digital links). */
  readonly bytesPerSecond?: number;
}

export interface LinkCapabilities {
  /** Largest encoded fragment (header + payload + CRC), bytes. */
  readonly mtu: number;
  /** Symbol dtypes the link carries, preferred first. */
  readonly dtypes: readonly SymbolDtype[];
  /** Nominal rate, when the link knows it; absent when it does not (e.g. a gateway decides). */
  readonly rate?: LinkRate;
}

export interface LinkStats {
  fragmentsSent: number;
  bytesSent: number;
  /** Fragments the link refused or failed to hand on. */
  sendFailures: number;
  feedbackReceived: number;
  /** Feedback payloads that were not valid `feedback` messages: dropped. */
  feedbackMalformed: number;
}

export interface LinkDriver {
  /** The registry name: "emulated", "mqtt", … */
  readonly name: string;
  readonly capabilities: LinkCapabilities;
  /**
   * Sends the fragments of one frame, in order. Resolves when the link took them (not when they
   * arrived). Throws AkbError('FRAGMENT_TOO_LARGE') for a fragment over the MTU and
   * AkbError('DTYPE_UNSUPPORTED') for a dtype the link does not carry, before sending any of them.
   */
  send(fragments: readonly Uint8Array[]): Promise<void>;
  /** Feedback from the receiver; returns a function that stops listening. */
  onFeedback(listener: (feedback: FeedbackMessage) => unknown): () => void;
  /** Errors that belong to no send (a malformed feedback, a failed delayed delivery). */
  onError(listener: (error: Error) => unknown): () => void;
  readonly stats: Readonly<LinkStats>;
  /** Stops the link; frames still in flight are delivered or dropped as the driver documents. */
  close(): Promise<void>;
}

/** The dtype to encode with: the link's first choice. */
export function preferredDtype(capabilities: LinkCapabilities): SymbolDtype {
  return capabilities.dtypes[0] ?? 'float32';
}

/** Shared bookkeeping of the drivers: stats, listeners, fragment checks, feedback over MQTT. */
export abstract class LinkBase implements LinkDriver {
  abstract readonly name: string;
  abstract readonly capabilities: LinkCapabilities;
  protected readonly counters: LinkStats = { fragmentsSent: 0, bytesSent: 0, sendFailures: 0, feedbackReceived: 0, feedbackMalformed: 0 };
  protected readonly feedback = new Fanout<FeedbackMessage>((e) => this.fail(e));
  protected readonly errors = new Fanout<Error>();
  private readonly stops: (() => void)[] = [];

  abstract send(fragments: readonly Uint8Array[]): Promise<void>;
  abstract close(): Promise<void>;

  get stats(): Readonly<LinkStats> {
    return { ...this.counters };
  }

  onFeedback(listener: (feedback: FeedbackMessage) => unknown): () => void {
    return this.feedback.on(listener);
  }

  onError(listener: (error: Error) => unknown): () => void {
    return this.errors.on(listener);
  }

  /** Hands feedback to the listeners (an in-process receiver calls this through its driver). */
  protected emitFeedback(message: FeedbackMessage): void {
    this.counters.feedbackReceived++;
    this.feedback.emit(message);
  }

  protected fail(e: unknown): void {
    this.errors.emit(e instanceof Error ? e : new Error(String(e)));
  }

  /** Refuses the batch when any fragment is over the MTU, not a frame, or of a dtype the link lacks. */
  protected check(fragments: readonly Uint8Array[]): void {
    const { mtu, dtypes } = this.capabilities;
    for (const [i, f] of fragments.entries()) {
      if (f.length > mtu) {
        this.counters.sendFailures += fragments.length;
        throw new AkbError('FRAGMENT_TOO_LARGE', `fragment ${i} is ${f.length} bytes, over the ${this.name} link's MTU of ${mtu}`, {
          hint: `fragment with fragmentSymbols(…, { mtu: ${mtu} })`,
        });
      }
      let dtype: SymbolDtype;
      try {
        dtype = peekFrameHeader(f).dtype;
      } catch (e) {
        this.counters.sendFailures += fragments.length;
        throw e;
      }
      if (!dtypes.includes(dtype)) {
        this.counters.sendFailures += fragments.length;
        throw new AkbError('DTYPE_UNSUPPORTED', `the ${this.name} link does not carry ${dtype} symbols`, {
          hint: `encode as ${dtypes.join(' or ')}`,
        });
      }
    }
  }

  /** Routes valid feedback on `topics.feedback(device)` to the listeners until close. */
  protected async listenForFeedback(client: MqttTransport, device: string): Promise<void> {
    const topic = topics.feedback(device);
    const stop = client.onMessage(topic, (m) => {
      let message: FeedbackMessage;
      try {
        message = decodeMessage('feedback', m.payload);
      } catch (e) {
        this.counters.feedbackMalformed++;
        this.fail(e);
        return;
      }
      this.emitFeedback(message);
    });
    this.stops.push(stop, () => {
      client.unsubscribe(topic).catch(() => undefined);
    });
    await client.subscribe(topic, { qos: 0 });
  }

  /** Stops the feedback routing. */
  protected stopListening(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}
