/**
 * The few things the request/response layer needs from an MQTT connection. `AkbMqttClient` implements
 * it over mqtt.js; a unit test can implement it in memory.
 */
export type QoS = 0 | 1 | 2;
export type ProtocolVersion = 4 | 5;

/** A received message. `payload` is the broker's bytes, unchanged. */
export interface AkbMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 only: where the sender wants the answer. */
  responseTopic?: string;
  /** MQTT 5 only: opaque bytes to echo in the answer. */
  correlationData?: Buffer;
  /** MQTT 5 only. */
  userProperties?: Record<string, string | string[]>;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 properties; left out on an MQTT 3.1.1 connection. */
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: Record<string, string>;
  messageExpirySeconds?: number;
}

export type MessageHandler = (message: AkbMessage) => unknown;

export interface MqttTransport {
  readonly protocolVersion: ProtocolVersion;
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void>;
  subscribe(filter: string, options?: { qos?: QoS }): Promise<void>;
  unsubscribe(filter: string): Promise<void>;
  /** Routes messages whose topic matches `filter` to `handler`; returns a function that stops it. */
  onMessage(filter: string, handler: MessageHandler): () => void;
}

/** A Buffer view of the same bytes (no copy), as mqtt.js wants Buffers. */
export function asBuffer(bytes: Uint8Array | string): Buffer | string {
  if (typeof bytes === 'string' || Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
