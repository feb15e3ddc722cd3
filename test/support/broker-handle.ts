/** What every broker fixture returns, so a suite runs identically on aedes and on Mosquitto. */
export type BrokerKindName = 'aedes' | 'mosquitto';

export interface BrokerHandle {
  kind: BrokerKindName;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops the broker and removes its files. Idempotent. */
  close(): Promise<void>;
  /** Stops the broker and starts it again on the same port (state kept only with persistence), after `downMs` (default 0). */
  restart(options?: { downMs?: number }): Promise<void>;
  /** The broker's log so far (Mosquitto), for failure messages. */
  log(): string;
}
