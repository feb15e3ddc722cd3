/** Collects the messages a client receives on a filter, and waits for them with a timeout. */
import type { AkbMessage, AkbMqttClient } from '@akb/protocol/mqtt';

let seq = 0;
/** A client id no other test in this run uses. */
export function uniqueId(prefix = 't'): string {
  seq++;
  return `${prefix}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
}

export class Inbox {
  readonly messages: AkbMessage[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  private readonly stopRouting: () => void;

  constructor(client: AkbMqttClient, readonly filter: string) {
    this.stopRouting = client.onMessage(filter, (m) => {
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (this.messages.length < w.n) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Subscribes `client` to `filter` and returns an inbox for it. */
  static async open(client: AkbMqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<Inbox> {
    const inbox = new Inbox(client, filter);
    await client.subscribe(filter, { qos });
    return inbox;
  }

  /** Resolves once `n` messages arrived in all; rejects after `timeoutMs` saying how many did. */
  async waitFor(n: number, timeoutMs = 5000): Promise<AkbMessage[]> {
    if (this.messages.length < n) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${this.filter}: ${this.messages.length} of ${n} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        this.waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    }
    return this.messages.slice(0, n);
  }

  /** Waits `ms` and returns what arrived meanwhile (to show that nothing does). */
  async quiet(ms: number): Promise<AkbMessage[]> {
    const before = this.messages.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.messages.slice(before);
  }

  close(): void {
    this.stopRouting();
  }
}
