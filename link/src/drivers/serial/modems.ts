/**
 * The driver's side of each modem dialect: set the radio up, put one link packet on air. An RN2483 is
 * told `mac pause` and the LoRa settings, then `radio tx <hex>`; the answer comes after the time on air.
 * An E32 in transparent mode takes the bytes and says nothing, so the driver waits out the packet's time
 * on air. A banner (a reset) or a silent modem ends the transmission with a clear error and marks the
 * modem for set-up again.
 */
import { AkbError } from '@akb/protocol';
import { loraTimeOnAirMs, transparentTimeOnAirMs, type LoraParams } from '../../radio/airtime.js';
import { LineSplitter, parseReply, setupCommands, toHex, type Rn2483Reply } from '../../radio/rn2483.js';
import type { ModemLine } from './line.js';

export type TxOutcome = 'sent' | 'radio_err';

export interface ModemCounters {
  garbageLines: number;
  resetsSeen: number;
  timeouts: number;
}

export interface Modem {
  /** Largest link packet, bytes. */
  readonly packetBytes: number;
  /** Time on air of a packet of `bytes`, ms (unscaled). */
  airtimeMs(bytes: number): number;
  /** Whether set-up must run (first use, after a reset or a timeout). */
  readonly needsSetup: boolean;
  setup(): Promise<void>;
  transmit(packet: Uint8Array): Promise<TxOutcome>;
  readonly counters: ModemCounters;
}

export class Rn2483Modem implements Modem {
  readonly packetBytes = 255;
  needsSetup = true;
  readonly counters: ModemCounters = { garbageLines: 0, resetsSeen: 0, timeouts: 0 };
  private readonly queue: Rn2483Reply[] = [];
  private waiter: (() => void) | undefined;
  private readonly splitter = new LineSplitter(
    (l) => this.line(l),
    () => void this.counters.garbageLines++,
  );

  constructor(private readonly line_: ModemLine, private readonly lora: LoraParams, private readonly timeoutMs: number, private readonly scale: number) {
    line_.onData((b) => this.splitter.push(b));
  }

  airtimeMs(bytes: number): number {
    return loraTimeOnAirMs(bytes, this.lora);
  }

  async setup(): Promise<void> {
    this.queue.length = 0;
    await this.command('mac pause', (r) => r.kind === 'number');
    for (const c of setupCommands(this.lora)) await this.command(c, (r) => r.kind === 'ok');
    this.needsSetup = false;
  }

  async transmit(packet: Uint8Array): Promise<TxOutcome> {
    const first = await this.command(`radio tx ${toHex(packet)}`, (r) => r.kind === 'ok' || r.kind === 'busy');
    if (first.kind === 'busy') {
      this.needsSetup = true; // paused no longer: set up again and retry
      return 'radio_err';
    }
    const end = await this.next(this.timeoutMs + this.airtimeMs(packet.length) / this.scale, 'radio tx');
    if (end.kind === 'radio_tx_ok') return 'sent';
    if (end.kind === 'radio_err') return 'radio_err';
    throw this.unexpected('radio tx', end);
  }

  private line(l: string): void {
    if (l === '') return;
    const r = parseReply(l);
    if (r.kind === 'garbage') {
      this.counters.garbageLines++;
      return;
    }
    if (r.kind === 'banner') {
      this.counters.resetsSeen++;
      this.needsSetup = true;
    }
    if (this.queue.length < 64) this.queue.push(r);
    this.waiter?.();
  }

  /**
   * Sends a command and waits for a reply that `accept`s; garbage is skipped, and so is a late end of an
   * earlier transmission or reception (`radio_tx_ok`, `radio_err`, `radio_rx` after a timeout); anything
   * else is an error.
   */
  private async command(cmd: string, accept: (r: Rn2483Reply) => boolean): Promise<Rn2483Reply> {
    this.queue.length = 0;
    await this.line_.write(`${cmd}\r\n`);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const r = await this.next(Math.max(1, deadline - Date.now()), cmd);
      if (accept(r)) return r;
      if (r.kind === 'radio_tx_ok' || r.kind === 'radio_err' || r.kind === 'radio_rx') continue;
      throw this.unexpected(cmd, r);
    }
  }

  private unexpected(cmd: string, r: Rn2483Reply): AkbError {
    if (r.kind === 'banner') return new AkbError('MODEM_RESET', `the modem reset during "${cmd.slice(0, 40)}" (${r.text})`, { hint: 'the driver sets it up again and retries' });
    this.needsSetup = true;
    return new AkbError('MODEM_PROTOCOL', `the modem answered "${r.kind}" to "${cmd.slice(0, 40)}"`, { hint: 'is it an RN2483 at the configured baud rate?' });
  }

  private async next(ms: number, what: string): Promise<Rn2483Reply> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = this.queue.shift();
      if (r !== undefined) return r;
      if (!this.line_.open) throw new AkbError('LINE_CLOSED', `the modem's serial port closed during "${what.slice(0, 40)}"`, { hint: 'plug it back in: the driver reopens it at the next send' });
      const left = deadline - Date.now();
      if (left <= 0) {
        this.counters.timeouts++;
        this.needsSetup = true;
        throw new AkbError('MODEM_TIMEOUT', `the modem did not answer "${what.slice(0, 40)}" within ${Math.round(ms)} ms`, { hint: 'check power, baud rate and wiring; the driver sets it up again at the next send' });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, Math.min(left, 250));
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }
}

/** The UART idle time after which a transparent module starts a packet that is not full, with margin, ms. */
export const E32_IDLE_GAP_MS = 10;

export class E32Modem implements Modem {
  needsSetup = false;
  readonly counters: ModemCounters = { garbageLines: 0, resetsSeen: 0, timeouts: 0 };

  constructor(private readonly line_: ModemLine, readonly packetBytes: number, private readonly airBitsPerSecond: number, private readonly scale: number) {}

  airtimeMs(bytes: number): number {
    return transparentTimeOnAirMs(bytes, this.airBitsPerSecond);
  }

  async setup(): Promise<void> {}

  async transmit(packet: Uint8Array): Promise<TxOutcome> {
    await this.line_.write(packet);
    // No answer comes: wait out the packet's time on air plus an idle gap (E32_IDLE_GAP_MS) so that the
    // module closes this packet before the next one's bytes arrive.
    await new Promise((r) => setTimeout(r, this.airtimeMs(packet.length) / this.scale + E32_IDLE_GAP_MS));
    return 'sent';
  }
}
