/**
 * The receiving side of the simulated air, as a radio gateway would be: it hears link packets (from a
 * ModemSim's `onAir`), reassembles them with the compact link profile's Desegmenter (bounded; corrupted
 * or foreign packets refused and counted, never thrown) and publishes each whole v1 frame on
 * `topics.linkRx(device)`, where the cloud's decoder listens, or on `topic` (e.g. `topics.linkTx(device)`,
 * where a ChannelEmulator takes it up: `akb hil run` applies its plan's channel after the modem so).
 */
import { Desegmenter, topics, type DesegmenterStats } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';

export interface RadioGatewaySimOptions {
  client: MqttTransport;
  deviceId: string;
  /** Where whole frames go (default topics.linkRx(deviceId)). */
  topic?: string;
  /** Largest frame reassembled, bytes (default 65,536). */
  maxFrameBytes?: number;
  /** Frames collected at once (default 16). */
  maxPending?: number;
  /** An incomplete frame is dropped after this long without a segment, ms (default 30,000). */
  timeoutMs?: number;
}

export interface RadioGatewayStats extends DesegmenterStats {
  published: number;
  publishFailures: number;
}

export class RadioGatewaySim {
  private readonly desegmenter: Desegmenter;
  private published = 0;
  private publishFailures = 0;
  private readonly topic: string;

  constructor(private readonly o: RadioGatewaySimOptions) {
    this.topic = o.topic ?? topics.linkRx(o.deviceId);
    this.desegmenter = new Desegmenter({ maxFrameBytes: o.maxFrameBytes ?? 65_536, maxPending: o.maxPending ?? 16, timeoutMs: o.timeoutMs ?? 30_000 });
  }

  /** One packet heard on air. */
  hear(packet: Uint8Array): void {
    const { frame } = this.desegmenter.push(packet);
    if (frame === undefined) return;
    this.o.client.publish(this.topic, frame, { qos: 0 }).then(
      () => void this.published++,
      () => void this.publishFailures++,
    );
  }

  get stats(): RadioGatewayStats {
    return { ...this.desegmenter.stats, published: this.published, publishFailures: this.publishFailures };
  }
}
