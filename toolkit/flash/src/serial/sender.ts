/**
 * The sending side of serial flashing (PROTOCOL.md, "Serial flashing"): HELLO until READY, then DATA
 * frames with a window; the frame a NAK names is resent alone (the receiver kept what followed it), and
 * after a silent timeout everything from the last acknowledged offset; a new HELLO after three timeouts in a row, so a restarted or reconnected receiver
 * tells where to resume; DONE, then the receiver's RESULT. The receiver holds the resume point, so a
 * restarted sender needs no state of its own. `sendBundle` works over any SerialLine (akb flash's
 * node-serialport port, the bootstrap's already-open console).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { AkbError, encodeSerialFrame, MAX_SERIAL_BUNDLE, MAX_SERIAL_DATA, SerialDeframer, type SerialFrame, type SerialStatus } from '@akb/protocol';
import { FrameInbox, type SerialLine } from './line.js';

export interface SendOptions {
  /** Line rate in bits/s, for the timeouts (default 115200). */
  baud?: number;
  /** Frames in flight (default 8). */
  window?: number;
  /** Payload bytes per DATA frame (default 1024). */
  maxData?: number;
  /** Install even an older or equal version. */
  force?: boolean;
  /** HELLOs sent, one a second, before giving up (default 30). */
  helloAttempts?: number;
  /** Longest wait for RESULT after DONE while BUSY frames keep coming, ms (default 15 minutes). */
  resultTimeoutMs?: number;
  onProgress?: (p: SendProgress) => void;
}

export interface SendProgress {
  phase: 'connecting' | 'sending' | 'installing';
  size: number;
  /** Bytes the receiver acknowledged. */
  acked: number;
  resumedFrom: number;
  /** The receiver's install phase, while installing. */
  detail?: string;
}

export interface SendReport {
  status: SerialStatus;
  code: string;
  message: string;
  size: number;
  /** Where the first READY of this run resumed (0: from the start). */
  resumedFrom: number;
  /** DATA frames sent, of which retransmissions (sent again after a NAK or a timeout). */
  frames: number;
  retransmissions: number;
  naks: number;
  timeouts: number;
  /** Blocks received that failed to decode. */
  badFrames: number;
  /** From the first DATA frame to the last ACK, ms. */
  transferMs: number;
}

const TIMEOUTS_BEFORE_HELLO = 3;
const DONE_RETRY_MS = 2000;

async function sha256Of(path: string): Promise<Uint8Array> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest();
}

/** Sends the bundle at `bundlePath` over `line`, waits for the install's RESULT and returns it with counts. */
export async function sendBundle(line: SerialLine, bundlePath: string, opts: SendOptions = {}): Promise<SendReport> {
  let size: number;
  try {
    size = (await stat(bundlePath)).size;
  } catch (e) {
    throw new AkbError('BUNDLE_NOT_FOUND', `cannot read the bundle ${bundlePath}: ${(e as Error).message}`, { exitCode: 2 });
  }
  if (size > MAX_SERIAL_BUNDLE || size === 0) throw new AkbError('TOO_LARGE', `the bundle ${bundlePath} has ${size} bytes: serial flashing takes 1 byte to ${MAX_SERIAL_BUNDLE}`, { exitCode: 2 });
  const file = await open(bundlePath, 'r');
  const inbox = new FrameInbox<SerialFrame>();
  const deframer = new SerialDeframer((f) => inbox.push(f));
  const stopData = line.onData((b) => deframer.push(b));
  const stopClose = line.onClose?.((reason) => inbox.close(reason));
  try {
    return await new Sender(line, inbox, file, size, await sha256Of(bundlePath), opts, deframer).run();
  } finally {
    stopData();
    stopClose?.();
    await file.close();
  }
}

class Sender {
  private readonly baud: number;
  private window: number;
  private maxData: number;
  private readonly report: SendReport;
  private base = 0;
  private next = 0;
  private highest = 0;
  private seq = 0;
  private started = 0;

  constructor(
    private readonly line: SerialLine,
    private readonly inbox: FrameInbox<SerialFrame>,
    private readonly file: import('node:fs/promises').FileHandle,
    private readonly size: number,
    private readonly sha256: Uint8Array,
    private readonly opts: SendOptions,
    private readonly deframer: SerialDeframer,
  ) {
    this.baud = opts.baud ?? 115_200;
    this.window = Math.min(256, Math.max(1, opts.window ?? 8));
    this.maxData = Math.min(MAX_SERIAL_DATA, Math.max(1, opts.maxData ?? 1024));
    this.report = { status: 'error', code: '', message: '', size, resumedFrom: -1, frames: 0, retransmissions: 0, naks: 0, timeouts: 0, badFrames: 0, transferMs: 0 };
  }

  /** Timeout before resending from the last ACK: 1.5 times the window's time on the line, plus 0.2 s. */
  private get rtoMs(): number {
    return Math.ceil(((this.window * (this.maxData + 30) * 10) / this.baud) * 1500) + 200;
  }

  private progress(phase: SendProgress['phase'], detail?: string): void {
    this.opts.onProgress?.({ phase, size: this.size, acked: this.base, resumedFrom: Math.max(0, this.report.resumedFrom), ...(detail ? { detail } : {}) });
  }

  private send(f: SerialFrame): void | Promise<void> {
    return this.line.write(encodeSerialFrame(f));
  }

  async run(): Promise<SendReport> {
    let result = await this.handshake();
    while (!result) {
      result = (await this.transfer()) ?? (await this.finish());
    }
    this.report.badFrames = this.deframer.counts.bad;
    return Object.assign(this.report, { status: result.status, code: result.code, message: result.message });
  }

  /** HELLO until READY (resume there) or RESULT (refused). */
  private async handshake(): Promise<Extract<SerialFrame, { type: 'RESULT' }> | undefined> {
    this.progress('connecting');
    const attempts = this.opts.helloAttempts ?? 30;
    for (let i = 0; i < attempts; i++) {
      await this.send({ type: 'HELLO', size: this.size, sha256: this.sha256, maxData: this.maxData, window: this.window, force: this.opts.force === true });
      const deadline = Date.now() + 1000;
      for (let f = await this.inbox.next(1000); f; f = await this.inbox.next(Math.max(1, deadline - Date.now()))) {
        if (f.type === 'RESULT') return f;
        if (f.type === 'READY' && f.offset <= this.size) {
          this.resume(f.offset);
          this.maxData = Math.min(this.maxData, f.maxData);
          this.window = Math.min(this.window, f.window);
          return undefined;
        }
      }
    }
    throw new AkbError('NO_RECEIVER', `no install agent answered on the line after ${attempts} HELLOs`, {
      hint: 'start `akb-agent receive --port <its tty>` on the board (or use --bootstrap), and check the port and baud rate',
    });
  }

  private resume(offset: number): void {
    if (this.report.resumedFrom < 0) this.report.resumedFrom = offset;
    this.base = offset;
    this.next = offset;
  }

  /** DATA until every byte is acknowledged; a RESULT if the receiver ends the transfer itself. */
  private async transfer(): Promise<Extract<SerialFrame, { type: 'RESULT' }> | undefined> {
    let silent = 0;
    if (this.started === 0) this.started = Date.now();
    while (this.base < this.size) {
      this.progress('sending');
      while (this.next < this.size && this.next - this.base < this.window * this.maxData) await this.sendData();
      const f = await this.inbox.next(this.rtoMs);
      if (!f) {
        this.report.timeouts++;
        if (++silent >= TIMEOUTS_BEFORE_HELLO) {
          silent = 0;
          const refused = await this.handshake();
          if (refused) return refused;
        } else this.next = this.base;
        continue;
      }
      if (f.type === 'ACK' && f.offset <= this.size) {
        if (f.offset > this.base) silent = 0;
        this.base = Math.max(this.base, f.offset);
        this.next = Math.max(this.next, this.base);
      } else if (f.type === 'NAK' && f.offset < this.size) {
        // Selective repeat: the receiver keeps what came after the gap; resend only the frame at the gap.
        this.report.naks++;
        this.base = Math.max(this.base, f.offset);
        if (f.offset < this.next) await this.sendData(f.offset);
        else this.next = Math.max(this.next, f.offset);
      } else if (f.type === 'READY' && f.offset <= this.size) {
        this.resume(f.offset); // a receiver that restarted answered an earlier HELLO
      } else if (f.type === 'RESULT') return f;
    }
    this.report.transferMs += Date.now() - this.started;
    this.started = 0;
    return undefined;
  }

  /** Sends the frame at `at` (default: the next new one). */
  private async sendData(at?: number): Promise<void> {
    const offset = at ?? this.next;
    const n = Math.min(this.maxData, this.size - offset);
    const data = new Uint8Array(n);
    const { bytesRead } = await this.file.read(data, 0, n, offset);
    if (bytesRead !== n) throw new AkbError('BUNDLE_CHANGED', 'the bundle file got shorter while it was being sent', { hint: 'do not rewrite the bundle during akb flash' });
    if (offset < this.highest) this.report.retransmissions++;
    this.report.frames++;
    await this.send({ type: 'DATA', seq: this.seq, offset, data });
    this.seq = (this.seq + 1) >>> 0;
    if (at === undefined) this.next += n;
    this.highest = Math.max(this.highest, offset + n);
  }

  /** DONE until RESULT; undefined when the receiver reports missing bytes (back to transfer). */
  private async finish(): Promise<Extract<SerialFrame, { type: 'RESULT' }> | undefined> {
    const limit = Date.now() + (this.opts.resultTimeoutMs ?? 15 * 60_000);
    let silent = 0;
    while (Date.now() < limit) {
      await this.send({ type: 'DONE', size: this.size });
      const deadline = Date.now() + DONE_RETRY_MS;
      for (let f = await this.inbox.next(DONE_RETRY_MS); f; f = await this.inbox.next(Math.max(1, deadline - Date.now()))) {
        if (f.type === 'RESULT') return f;
        if (f.type === 'BUSY') {
          silent = 0;
          this.progress('installing', f.phase);
        } else if ((f.type === 'NAK' || f.type === 'READY') && f.offset < this.size) {
          this.resume(Math.min(this.base, f.offset));
          return undefined;
        }
      }
      if (++silent >= TIMEOUTS_BEFORE_HELLO) {
        const refused = await this.handshake();
        if (refused || this.base < this.size) return refused;
        silent = 0;
      }
    }
    throw new AkbError('NO_RESULT', 'the board did not report the install outcome in time', { hint: 'run `akb-agent status` on the board to see what is installed' });
  }
}
