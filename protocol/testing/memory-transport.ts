/**
 * Test support, not shipped (outside src/): an MqttTransport in memory that records every publish and
 * delivers it, on a later microtask, to the handlers whose filter matches, as one broker with one
 * connection would. On protocolVersion 5 it carries the response topic and correlation data, which
 * MemoryBus (src/mqtt/memory-bus.ts, MQTT 3.1.1 only) does not.
 */
import { topicMatches } from '../src/mqtt/topic-match.js';
import type { AkbMessage, MessageHandler, MqttTransport, PublishOptions } from '../src/mqtt/transport.js';

export interface RecordedPublish {
  topic: string;
  payload: string;
  options: PublishOptions;
}

export class MemoryTransport implements MqttTransport {
  readonly published: RecordedPublish[] = [];
  readonly subscribed: string[] = [];
  readonly unsubscribed: string[] = [];
  private readonly handlers = new Set<{ filter: string; handler: MessageHandler }>();

  constructor(readonly protocolVersion: 4 | 5 = 4) {}

  /** The message a subscriber of `topic` receives for this publish. */
  message(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): AkbMessage {
    const m: AkbMessage = { topic, payload: Buffer.from(payload), qos: options.qos ?? 0, retain: false };
    if (this.protocolVersion === 5 && options.responseTopic !== undefined) m.responseTopic = options.responseTopic;
    if (this.protocolVersion === 5 && options.correlationData !== undefined) m.correlationData = Buffer.from(options.correlationData);
    return m;
  }

  publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): Promise<void> {
    this.published.push({ topic, payload: Buffer.from(payload).toString(), options });
    const m = this.message(topic, payload, options);
    queueMicrotask(() => {
      for (const h of this.handlers) if (topicMatches(h.filter, topic)) void h.handler(m);
    });
    return Promise.resolve();
  }

  /** The topic of every publish so far, in order. */
  topics(): string[] {
    return this.published.map((p) => p.topic);
  }

  subscribe(filter: string): Promise<void> {
    this.subscribed.push(filter);
    return Promise.resolve();
  }

  unsubscribe(filter: string): Promise<void> {
    this.unsubscribed.push(filter);
    return Promise.resolve();
  }

  onMessage(filter: string, handler: MessageHandler): () => void {
    const entry = { filter, handler };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }
}
