/**
 * A radio-modem simulator on a serial port (the peer of a socat pty pair, or a real UART): it answers as
 * an RN2483 (LoRa AT) or an E32 (transparent) module does, enforces the payload limit and the time on air
 * (`radio_tx_ok` comes after the LoRa time on air divided by `airtimeScale`; an E32 is busy for its packet
 * time), and hands what it puts "on air" to `onAir` (a RadioGatewaySim, say). Faults, seeded:
 * `txErrorRate` (RN2483 answers `radio_err`), `airLossRate` (sent but nobody hears it), `garbageRate` (a
 * line of noise before an answer, or noise on air for an E32), `silence(true)` (answers nothing),
 * `reset()` (drops what is in flight; an RN2483 prints its banner and is no longer paused).
 */
import type { SerialPort } from 'serialport';
import { seededRandom, type RandomSource } from '@akb/protocol';
import { loraTimeOnAirMs, transparentTimeOnAirMs, type LoraParams, type LoraBandwidthKhz, type LoraCodingRate, type SpreadingFactor } from '../airtime.js';
import { E32_BUFFER_BYTES, E32_PACKET_BYTES } from '../e32.js';
import { LineSplitter, RN2483_BANNER, RN2483_MAX_PAYLOAD, fromHex, toHex } from '../rn2483.js';

export type SimModem = { kind: 'rn2483' } | { kind: 'e32'; airBitsPerSecond: number; packetBytes?: number };

export interface ModemSimOptions {
  path: string;
  baudRate?: number;
  modem: SimModem;
  /** Divides every time on air (default 1: real time). */
  airtimeScale?: number;
  txErrorRate?: number;
  airLossRate?: number;
  garbageRate?: number;
  seed?: number;
  /** What goes on air and is not lost. */
  onAir?: (packet: Uint8Array) => void;
}

export interface ModemSimStats {
  commands: number;
  packetsOnAir: number;
  packetsLost: number;
  txErrors: number;
  garbageLines: number;
  resets: number;
  /** Bytes an E32 dropped because its buffer was full. */
  overflowBytes: number;
  airtimeMs: number;
}

export class ModemSim {
  private readonly port: SerialPort;
  private readonly random: RandomSource;
  private readonly lines: LineSplitter;
  private lora: Required<Pick<LoraParams, 'sf' | 'bwKhz' | 'cr'>> = { sf: 12, bwKhz: 125, cr: 1 };
  private paused = false;
  private silent = false;
  private txTimer: NodeJS.Timeout | undefined;
  private rxPending = false;
  private e32Buf: number[] = [];
  private e32Busy = false;
  private idleTimer: NodeJS.Timeout | undefined;
  readonly stats: ModemSimStats = { commands: 0, packetsOnAir: 0, packetsLost: 0, txErrors: 0, garbageLines: 0, resets: 0, overflowBytes: 0, airtimeMs: 0 };

  private constructor(private readonly o: ModemSimOptions, port: SerialPort) {
    this.port = port;
    this.random = seededRandom(o.seed ?? 1);
    this.lines = new LineSplitter((l) => this.command(l));
    port.on('data', (b: Buffer) => this.data(b));
  }

  static async open(o: ModemSimOptions): Promise<ModemSim> {
    // Loaded here, not with the package (see drivers/serial/line.ts).
    const { SerialPort } = await import('serialport');
    const port = await new Promise<SerialPort>((resolve, reject) => {
      const p: SerialPort = new SerialPort({ path: o.path, baudRate: o.baudRate ?? (o.modem.kind === 'rn2483' ? 57_600 : 9600) }, (e) => (e ? reject(e) : resolve(p)));
    });
    port.on('error', () => undefined);
    return new ModemSim(o, port);
  }

  get packetBytes(): number {
    return this.o.modem.kind === 'e32' ? (this.o.modem.packetBytes ?? E32_PACKET_BYTES) : RN2483_MAX_PAYLOAD;
  }

  /** Stops (or resumes) answering and transmitting. */
  silence(on: boolean): void {
    this.silent = on;
  }

  /** A reset: what is in flight is lost; an RN2483 prints its banner and must be paused again. */
  reset(): void {
    this.stats.resets++;
    clearTimeout(this.txTimer);
    this.txTimer = undefined;
    clearTimeout(this.idleTimer);
    this.e32Buf = [];
    this.e32Busy = false;
    this.rxPending = false;
    this.paused = false;
    this.lines.reset();
    if (this.o.modem.kind === 'rn2483') this.write(RN2483_BANNER);
  }

  /** Whether a `radio tx` is on air now (a test resets mid-frame with this). */
  get transmitting(): boolean {
    return this.txTimer !== undefined || this.e32Busy;
  }

  /** A packet heard from the air: answers a pending `radio rx 0` with it. */
  hear(packet: Uint8Array): boolean {
    if (!this.rxPending || this.silent) return false;
    this.rxPending = false;
    this.write(`radio_rx  ${toHex(packet)}`);
    return true;
  }

  async close(): Promise<void> {
    clearTimeout(this.txTimer);
    clearTimeout(this.idleTimer);
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  private data(b: Buffer): void {
    if (this.silent) return;
    if (this.o.modem.kind === 'rn2483') this.lines.push(b);
    else this.e32Data(b);
  }

  private write(line: string): void {
    if (this.port.isOpen) this.port.write(`${line}\r\n`);
  }

  private answer(line: string): void {
    const g = this.o.garbageRate ?? 0;
    if (g > 0 && this.random() < g) {
      this.stats.garbageLines++;
      const junk = Array.from({ length: 1 + Math.floor(this.random() * 20) }, () => String.fromCharCode(33 + Math.floor(this.random() * 90))).join('');
      this.write(junk);
    }
    this.write(line);
  }

  private scaled(ms: number): number {
    return ms / (this.o.airtimeScale ?? 1);
  }

  private command(line: string): void {
    this.stats.commands++;
    const words = line.trim().split(/\s+/u);
    const [a, b, c, d] = words;
    if (a === 'mac' && b === 'pause' && words.length === 2) {
      this.paused = true;
      this.answer('4294967245');
    } else if (a === 'sys' && b === 'reset' && words.length === 2) {
      this.reset();
    } else if (a === 'radio' && b === 'set' && words.length === 4) {
      this.answer(this.set(c!, d!) ? 'ok' : 'invalid_param');
    } else if (a === 'radio' && b === 'tx' && words.length === 3) {
      this.tx(c!);
    } else if (a === 'radio' && b === 'rx' && c === '0' && words.length === 3) {
      if (!this.paused) return this.answer('busy');
      if (this.txTimer || this.rxPending) return this.answer('busy');
      this.rxPending = true;
      this.answer('ok');
    } else {
      this.answer('invalid_param');
    }
  }

  private set(what: string, value: string): boolean {
    if (what === 'mod') return value === 'lora';
    if (what === 'sf') {
      const m = /^sf(7|8|9|10|11|12)$/u.exec(value);
      if (m) this.lora.sf = Number(m[1]) as SpreadingFactor;
      return m !== null;
    }
    if (what === 'bw') {
      const ok = value === '125' || value === '250' || value === '500';
      if (ok) this.lora.bwKhz = Number(value) as LoraBandwidthKhz;
      return ok;
    }
    if (what === 'cr') {
      const m = /^4\/([5-8])$/u.exec(value);
      if (m) this.lora.cr = (Number(m[1]) - 4) as LoraCodingRate;
      return m !== null;
    }
    return false;
  }

  private tx(hex: string): void {
    if (!/^[0-9A-Fa-f]*$/u.test(hex) || hex.length % 2 !== 0 || hex.length === 0 || hex.length / 2 > RN2483_MAX_PAYLOAD) return this.answer('invalid_param');
    if (!this.paused || this.txTimer || this.rxPending) return this.answer('busy');
    const packet = fromHex(hex);
    this.answer('ok');
    const toa = loraTimeOnAirMs(packet.length, this.lora);
    this.txTimer = setTimeout(() => {
      this.txTimer = undefined;
      if (this.silent) return;
      if (this.random() < (this.o.txErrorRate ?? 0)) {
        this.stats.txErrors++;
        return this.answer('radio_err');
      }
      this.stats.airtimeMs += toa;
      this.onAir(packet);
      this.answer('radio_tx_ok');
    }, this.scaled(toa));
  }

  private onAir(packet: Uint8Array): void {
    if (this.random() < (this.o.airLossRate ?? 0)) {
      this.stats.packetsLost++;
      return;
    }
    this.stats.packetsOnAir++;
    this.o.onAir?.(packet);
  }

  private e32Data(b: Buffer): void {
    for (const x of b) {
      if (this.e32Buf.length >= E32_BUFFER_BYTES) this.stats.overflowBytes++;
      else this.e32Buf.push(x);
    }
    clearTimeout(this.idleTimer);
    // A packet starts when a packet's worth is buffered or the UART is idle (here 5 ms).
    if (this.e32Buf.length >= this.packetBytes) this.e32Pump();
    else this.idleTimer = setTimeout(() => this.e32Pump(), 5);
  }

  private e32Pump(): void {
    if (this.e32Busy || this.e32Buf.length === 0 || this.silent || this.o.modem.kind !== 'e32') return;
    const packet = Uint8Array.from(this.e32Buf.splice(0, this.packetBytes));
    const toa = transparentTimeOnAirMs(packet.length, this.o.modem.airBitsPerSecond);
    this.e32Busy = true;
    this.txTimer = setTimeout(() => {
      this.txTimer = undefined;
      this.e32Busy = false;
      this.stats.airtimeMs += toa;
      const g = this.o.garbageRate ?? 0;
      if (g > 0 && this.random() < g) {
        this.stats.garbageLines++;
        const at = Math.floor(this.random() * packet.length);
        packet[at] = (packet[at] ?? 0) ^ 0x5a;
      }
      this.onAir(packet);
      this.e32Pump();
    }, this.scaled(toa));
  }
}
