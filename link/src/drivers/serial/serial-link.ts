/**
 * The `serial` link: v1 frame fragments through a UART radio modem. Each fragment is cut into link packets
 * of the modem's packet size by the compact link profile (`segmentFrame`, PROTOCOL.md "Link profile:
 * compact segmentation"), and each packet goes on air through the modem's dialect (RN2483 LoRa AT or E32
 * transparent). A digital modem cannot carry analog symbols: the link takes int8 frames only (symbols
 * quantized with their scale; `stats.symbolEncoding` says so) and refuses others with DTYPE_UNSUPPORTED.
 *
 * Pacing: packets go one at a time, each after the previous one's time on air (the RN2483 answers after
 * it; for an E32 the driver waits it out). A duty-cycle limit (a share of a sliding hour, by region) is
 * checked before each packet against the unscaled time on air: a packet over the budget is dropped with
 * the rest of its fragment, counted in `dutyCycleDrops`, and reported on `onError`. Fragments wait in a
 * bounded queue (`maxQueuedPackets`); a fragment that does not fit is dropped and counted (`queueDrops`).
 * `radio_err` (or `busy`) is retried up to `maxRetries` times, setting the modem up again first when it
 * asks for it; a packet still failing is lost with the rest of its fragment (`packetsLost`).
 * Faults: a modem that stops answering fails the send with MODEM_TIMEOUT (the rest of that send is
 * dropped) and is set up again at the next send; a reset (the RN2483 banner) mid-frame makes the driver set
 * it up again and retry the packet; a port that closes (unplugged) fails the send with LINE_CLOSED, and
 * each later send tries to reopen it first (PORT_OPEN while it is gone).
 */
import { AkbError, segmentFrame, type SymbolDtype } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import { DUTY_CYCLE, DutyCycle, loraBitRate, loraTimeOnAirMs, transparentTimeOnAirMs, type DutyCycleRegion, type LoraParams } from '../../radio/airtime.js';
import { E32_BAUD, E32_PACKET_BYTES } from '../../radio/e32.js';
import { RN2483_BAUD } from '../../radio/rn2483.js';
import { LinkBase, type LinkCapabilities, type LinkStats } from '../driver.js';
import { openModemLine, type ModemLine } from './line.js';
import { E32Modem, Rn2483Modem, type Modem } from './modems.js';

export type SerialModemOptions = ({ kind: 'rn2483' } & LoraParams) | { kind: 'e32'; airBitsPerSecond: number; packetBytes?: number };

export interface SerialLinkOptions {
  /** The modem's serial port, e.g. /dev/ttyUSB0. */
  path: string;
  /** UART rate (default: RN2483 57,600; E32 9,600). */
  baudRate?: number;
  modem: SerialModemOptions;
  /** Largest v1 fragment the link accepts, bytes (default 1024); it is segmented to the modem's packets. */
  mtu?: number;
  /** A share of the hour (0 < d ≤ 1) or a region's name (default 'none': no limit). */
  dutyCycle?: number | DutyCycleRegion;
  /** The duty-cycle window, ms (default one hour). */
  dutyCycleWindowMs?: number;
  /** Link packets waiting at most (default 512). */
  maxQueuedPackets?: number;
  /** Retries of a packet after `radio_err` or a reset (default 3). */
  maxRetries?: number;
  /** How long to wait for a modem's answer beyond the time on air, ms (default 1000). */
  responseTimeoutMs?: number;
  /** Divides the time on air the driver waits for (simulators only; default 1). Stats stay unscaled. */
  airtimeScale?: number;
  /** First link sequence number (u16, default 0). */
  seq?: number;
  /** Feedback from the gateway over MQTT, when the edge has a broker connection. */
  client?: MqttTransport;
  deviceId?: string;
}

export interface SerialRadioInfo {
  modem: 'rn2483' | 'e32';
  /** Largest link packet, bytes. */
  packetBytes: number;
  /** Time on air of one full packet, ms. */
  packetAirtimeMs: number;
  /** The PHY bit rate (LoRa: SF·CR·BW/2^SF; E32: the air data rate), bits/s. */
  phyBitsPerSecond: number;
  dutyCycle: number;
}

export interface SerialLinkCapabilities extends LinkCapabilities {
  readonly radio: SerialRadioInfo;
}

export interface SerialLinkStats extends LinkStats {
  /** What the symbols travel as: always 'int8' (quantized with the frame's scale). */
  symbolEncoding: 'int8';
  packetsSent: number;
  packetsRetried: number;
  /** Packets never sent: radio_err after the retries, a timeout, a closed port (with their fragment's rest). */
  packetsLost: number;
  dutyCycleDrops: number;
  queueDrops: number;
  /** Time on air used, ms (unscaled). */
  airtimeMs: number;
  /** Fragment bytes whose every packet went on air, per second spent transmitting. */
  goodputBytesPerSecond: number;
  modemTimeouts: number;
  modemResets: number;
  garbageLines: number;
  reconnects: number;
}

const SEGMENT_OVERHEAD = 7; // short-form header (5) and CRC-16 (2)

export class SerialLink extends LinkBase {
  readonly name = 'serial';
  readonly capabilities: SerialLinkCapabilities;
  private line: ModemLine | undefined;
  private modem: Modem | undefined;
  private readonly duty: DutyCycle;
  private seq: number;
  private queued = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private txMs = 0;
  private readonly serial = { packetsSent: 0, packetsRetried: 0, packetsLost: 0, dutyCycleDrops: 0, queueDrops: 0, airtimeMs: 0, modemTimeouts: 0, modemResets: 0, garbageLines: 0, reconnects: 0 };

  private constructor(private readonly o: SerialLinkOptions) {
    super();
    const d = typeof o.dutyCycle === 'string' ? DUTY_CYCLE[o.dutyCycle] : (o.dutyCycle ?? 1);
    if (d === undefined) throw new AkbError('BAD_OPTION', `unknown duty-cycle region "${String(o.dutyCycle)}"`, { hint: `one of ${Object.keys(DUTY_CYCLE).join(', ')}` });
    this.duty = new DutyCycle({ dutyCycle: d, ...(o.dutyCycleWindowMs !== undefined ? { windowMs: o.dutyCycleWindowMs } : {}) });
    this.seq = (o.seq ?? 0) & 0xffff;
    const m = o.modem;
    const packetBytes = m.kind === 'rn2483' ? 255 : (m.packetBytes ?? E32_PACKET_BYTES);
    if (!Number.isInteger(packetBytes) || packetBytes < 16 || packetBytes > 255) throw new AkbError('BAD_OPTION', `a modem packet is 16–255 bytes, got ${packetBytes}`);
    if (m.kind === 'e32' && !(m.airBitsPerSecond > 0)) throw new AkbError('BAD_OPTION', `airBitsPerSecond must be > 0, got ${m.airBitsPerSecond}`);
    const packetAirtimeMs = m.kind === 'rn2483' ? loraTimeOnAirMs(packetBytes, m) : transparentTimeOnAirMs(packetBytes, m.airBitsPerSecond);
    const mtu = o.mtu ?? 1024;
    if (!Number.isInteger(mtu) || mtu < 64 || mtu > 65_536) throw new AkbError('BAD_OPTION', `the serial link's fragment MTU is 64–65,536 bytes, got ${mtu}`);
    this.capabilities = {
      mtu,
      dtypes: ['int8'] satisfies SymbolDtype[],
      rate: { bytesPerSecond: ((packetBytes - SEGMENT_OVERHEAD) / (packetAirtimeMs / 1000)) * d },
      radio: { modem: m.kind, packetBytes, packetAirtimeMs, phyBitsPerSecond: m.kind === 'rn2483' ? loraBitRate(m) : m.airBitsPerSecond, dutyCycle: d },
    };
  }

  static async open(o: SerialLinkOptions): Promise<SerialLink> {
    const link = new SerialLink(o);
    await link.connect();
    try {
      await link.modem!.setup(); // a modem that does not answer fails the open, clearly
    } catch (e) {
      await link.line?.close();
      throw e;
    }
    if (o.client !== undefined && o.deviceId !== undefined) await link.listenForFeedback(o.client, o.deviceId);
    return link;
  }

  override get stats(): Readonly<SerialLinkStats> {
    const c = this.modem?.counters;
    return {
      ...this.counters,
      ...this.serial,
      modemTimeouts: this.serial.modemTimeouts + (c?.timeouts ?? 0),
      modemResets: this.serial.modemResets + (c?.resetsSeen ?? 0),
      garbageLines: this.serial.garbageLines + (c?.garbageLines ?? 0),
      symbolEncoding: 'int8',
      goodputBytesPerSecond: this.txMs > 0 ? this.counters.bytesSent / (this.txMs / 1000) : 0,
    };
  }

  async send(fragments: readonly Uint8Array[]): Promise<void> {
    if (this.closed) throw new AkbError('LINK_CLOSED', 'the serial link is closed');
    this.check(fragments);
    const jobs = fragments.map((f) => {
      const packets = segmentFrame(f, { mtu: this.capabilities.radio.packetBytes, seq: this.seq });
      this.seq = (this.seq + 1) & 0xffff;
      return { fragment: f, packets };
    });
    let failure: Error | undefined;
    const done: Promise<void>[] = [];
    for (const job of jobs) {
      if (this.queued + job.packets.length > (this.o.maxQueuedPackets ?? 512)) {
        this.serial.queueDrops += job.packets.length;
        this.counters.sendFailures++;
        continue;
      }
      this.queued += job.packets.length;
      const run = this.tail.then(async () => {
        try {
          if (failure === undefined) await this.transmit(job.fragment, job.packets);
          else this.counters.sendFailures++;
        } catch (e) {
          failure ??= e instanceof Error ? e : new Error(String(e));
          this.counters.sendFailures++;
        } finally {
          this.queued -= job.packets.length;
        }
      });
      this.tail = run;
      done.push(run);
    }
    await Promise.all(done);
    if (failure !== undefined) throw failure;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    await this.tail;
    await this.line?.close();
  }

  private makeModem(line: ModemLine, packetBytes: number): Modem {
    const m = this.o.modem;
    const scale = this.o.airtimeScale ?? 1;
    if (m.kind === 'rn2483') return new Rn2483Modem(line, m, this.o.responseTimeoutMs ?? 1000, scale);
    return new E32Modem(line, packetBytes, m.airBitsPerSecond, scale);
  }

  private async connect(): Promise<void> {
    const baud = this.o.baudRate ?? (this.o.modem.kind === 'rn2483' ? RN2483_BAUD : E32_BAUD);
    const line = await openModemLine(this.o.path, baud);
    const old = this.modem?.counters;
    if (old) {
      this.serial.modemTimeouts += old.timeouts;
      this.serial.modemResets += old.resetsSeen;
      this.serial.garbageLines += old.garbageLines;
    }
    this.line = line;
    this.modem = this.makeModem(line, this.capabilities.radio.packetBytes);
    line.onClose((reason) => {
      if (!this.closed) this.fail(new AkbError('LINE_CLOSED', reason, { hint: 'the driver reopens the port at the next send' }));
    });
  }

  /** The modem, reopened and set up when it needs it. */
  private async ready(): Promise<Modem> {
    if (this.line === undefined || !this.line.open) {
      await this.connect();
      this.serial.reconnects++;
    }
    const modem = this.modem!;
    if (modem.needsSetup) await modem.setup();
    return modem;
  }

  private async transmit(fragment: Uint8Array, packets: Uint8Array[]): Promise<void> {
    const started = performance.now();
    for (const [i, packet] of packets.entries()) {
      const left = packets.length - i;
      let modem: Modem;
      try {
        modem = await this.ready();
      } catch (e) {
        this.serial.packetsLost += left;
        throw e;
      }
      const airtime = modem.airtimeMs(packet.length);
      if (!this.duty.allows(airtime)) {
        this.serial.dutyCycleDrops += left;
        this.fail(new AkbError('DUTY_CYCLE', `the duty-cycle budget (${this.duty.budgetMs} ms of air per window) is spent: ${left} packet(s) dropped`, { hint: 'send fewer symbols, or wait' }));
        this.counters.sendFailures++;
        return;
      }
      let sent = false;
      for (let attempt = 0; attempt <= (this.o.maxRetries ?? 3) && !sent; attempt++) {
        if (attempt > 0) this.serial.packetsRetried++;
        try {
          if (modem.needsSetup) await modem.setup();
          sent = (await modem.transmit(packet)) === 'sent';
        } catch (e) {
          if (!(e instanceof AkbError && e.code === 'MODEM_RESET')) {
            this.serial.packetsLost += left;
            throw e;
          }
        }
      }
      if (!sent) {
        this.serial.packetsLost += left;
        this.counters.sendFailures++;
        return;
      }
      this.duty.record(airtime);
      this.serial.airtimeMs += airtime;
      this.serial.packetsSent++;
    }
    this.txMs += performance.now() - started;
    this.counters.fragmentsSent++;
    this.counters.bytesSent += fragment.length;
  }
}
