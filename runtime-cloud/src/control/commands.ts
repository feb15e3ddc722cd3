/**
 * Requests from the cloud to devices (a forwarded `intent.set`): each on the device's own `cmd/req`,
 * answered on its own `cmd/res`, the fixed reply topic (protocol/src/reply-topic.ts). That is what a
 * per-device ACL lets a device write: the cloud used to name `cloud/res/<id>-cmd` as its reply topic,
 * which a device may not publish to, so every forwarded intent timed out under the ACL.
 *
 * One RpcClient per device (its `cmd/res` subscribed while it is kept); the least recently used beyond
 * `maxDevices` is stopped and unsubscribed once nothing of it is in flight.
 */
import { topics } from '@akb/protocol';
import { RpcClient, type MqttTransport } from '@akb/protocol/mqtt';

/** What forwarding needs: one request to one device. */
export interface DeviceRequester {
  request(device: string, op: string, args?: unknown): Promise<unknown>;
}

export interface DeviceCommandsOptions {
  /** Sent as `from` (the cloud's client id). */
  from: string;
  /** How long to wait for each device's answer (default 3000 ms). */
  timeoutMs?: number;
  /** Devices whose client (and cmd/res subscription) is kept (default 256). */
  maxDevices?: number;
}

export class DeviceCommands implements DeviceRequester {
  private readonly clients = new Map<string, RpcClient>();
  /** Clients being stopped: a new one for the same device waits, so the old unsubscribe cannot undo its subscribe. */
  private readonly stopping = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly transport: MqttTransport, private readonly options: DeviceCommandsOptions) {}

  /** Sends `op(args)` to `device`'s cmd/req and resolves with its answer's data (AkbError on error or timeout). */
  request(device: string, op: string, args?: unknown): Promise<unknown> {
    const old = this.stopping.get(device);
    if (old !== undefined) return old.then(() => this.request(device, op, args));
    let client = this.clients.get(device);
    if (client === undefined) {
      client = new RpcClient(this.transport, {
        requestTopic: topics.cmdReq(device),
        replyTopic: topics.cmdRes(device),
        from: this.options.from,
        timeoutMs: this.options.timeoutMs ?? 3000,
      });
    } else {
      this.clients.delete(device);
    }
    this.clients.set(device, client);
    this.trim();
    return client.request(op, args);
  }

  /** Stops every client (pending requests reject with CLOSED). */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map((c) => c.stop()));
  }

  private trim(): void {
    const max = this.options.maxDevices ?? 256;
    if (this.stopped || this.clients.size <= max) return;
    for (const [device, client] of this.clients) {
      if (this.clients.size <= max) break;
      if (client.inFlight > 0) continue;
      this.clients.delete(device);
      const done = client.stop().catch(() => undefined).finally(() => this.stopping.delete(device));
      this.stopping.set(device, done);
    }
  }
}
