/**
 * An in-process stand-in for a broker: clients on one MemoryBus see each other's publishes on the
 * filters they subscribed to, delivered on a later microtask as a broker would deliver them. For unit
 * tests and single-process simulations (edge, emulator and receiver without a broker); real brokers
 * stay the rule for integration tests.
 */
import type { AkbMessage, MessageHandler, MqttTransport, PublishOptions, QoS } from './transport.js';
import { topicMatches } from './topic-match.js';

export interface MemoryPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
}

export class MemoryBus {
  /** Everything published, in order. */
  readonly log: MemoryPublish[] = [];
  private readonly clients = new Set<MemoryClient>();

  client(): MemoryClient {
    const c = new MemoryClient(this);
    this.clients.add(c);
    return c;
  }

  /** @internal */
  deliver(message: MemoryPublish): void {
    this.log.push(message);
    queueMicrotask(() => {
      for (const c of this.clients) c.receive(message);
    });
  }
}

export class MemoryClient implements MqttTransport {
  readonly protocolVersion = 4 as const;
  /** Set to make publish reject, e.g. to test how a caller counts failures. */
  failPublishes: Error | undefined;
  private readonly subscriptions = new Set<string>();
  private readonly handlers = new Set<{ filter: string; handler: MessageHandler }>();

  constructor(private readonly bus: MemoryBus) {}

  publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<void> {
    if (this.failPublishes) return Promise.reject(this.failPublishes);
    this.bus.deliver({ topic, payload: Buffer.from(payload), qos: options.qos ?? 0 });
    return Promise.resolve();
  }

  subscribe(filter: string): Promise<void> {
    this.subscriptions.add(filter);
    return Promise.resolve();
  }

  unsubscribe(filter: string): Promise<void> {
    this.subscriptions.delete(filter);
    return Promise.resolve();
  }

  onMessage(filter: string, handler: MessageHandler): () => void {
    const entry = { filter, handler };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  /** @internal */
  receive(p: MemoryPublish): void {
    if (![...this.subscriptions].some((f) => topicMatches(f, p.topic))) return;
    const m: AkbMessage = { topic: p.topic, payload: p.payload, qos: p.qos, retain: false };
    for (const h of this.handlers) {
      if (!topicMatches(h.filter, p.topic)) continue;
      try {
        const r = h.handler(m);
        if (r instanceof Promise) r.catch(() => undefined);
      } catch {
        // One handler's failure is not the bus's; a broker would not notice either.
      }
    }
  }
}
