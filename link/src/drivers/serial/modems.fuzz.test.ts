/**
 * Fuzzing what a serial modem says back, without a port: the line splitter on arbitrary byte streams cut
 * anywhere (against a reference model of its rules), parseReply on any line, and the RN2483 driver's set-up
 * and transmit over an in-memory ModemLine that answers each command with random replies, garbage, banners
 * and raw bytes. Properties: no line is longer than MAX_LINE; the splitter matches the model; the driver
 * ends every exchange with an outcome or a typed AkbError (never another error, never a hang: each wait is
 * bounded by its timeout). 10,400 cases per CI run (test/fuzz/runs.ts scales them).
 */
import { isAkbError } from '@akb/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitAt } from '../../../../test/fuzz/bytes.js';
import { fuzzRuns } from '../../../../test/fuzz/runs.js';
import { LineSplitter, MAX_LINE, RN2483_BANNER, RN2483_MAX_PAYLOAD, parseReply } from '../../radio/rn2483.js';
import type { ModemLine } from './line.js';
import { E32Modem, Rn2483Modem } from './modems.js';

/** The splitter's documented rules, written again: lines at LF, one CR before it dropped, a line over MAX_LINE dropped whole. */
function referenceLines(text: string): { lines: string[]; overflows: number } {
  const lines: string[] = [];
  let overflows = 0;
  const parts = text.split('\n');
  parts.pop(); // the unterminated rest waits for its LF
  for (const p of parts) {
    if (p.length > MAX_LINE) overflows++;
    else lines.push(p.endsWith('\r') ? p.slice(0, -1) : p);
  }
  const rest = text.slice(text.lastIndexOf('\n') + 1);
  if (rest.length > MAX_LINE) overflows++;
  return { lines, overflows };
}


const replyLine = fc.oneof(
  fc.constantFrom('ok', 'busy', 'invalid_param', 'radio_tx_ok', 'radio_err', RN2483_BANNER, '4294967245', '', 'radio_rx  ', 'RN2483 9.9.9 hacked'),
  fc.uint8Array({ maxLength: 40 }).map((b) => `radio_rx  ${Buffer.from(b).toString('hex')}`),
  fc.string({ maxLength: 30, unit: 'binary' }),
  fc.nat().map(String),
);

describe('modem answers under fuzzing', () => {
  it('the line splitter matches its rules on any bytes cut anywhere', () => {
    const stream = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      fc.array(fc.oneof(replyLine.map((l) => `${l}\r\n`), fc.constant('x'.repeat(MAX_LINE + 5)), fc.string({ maxLength: 20 })), { maxLength: 12 }).map((ls) => Uint8Array.from(Buffer.from(ls.join(''), 'latin1'))),
    );
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const lines: string[] = [];
        let overflows = 0;
        const s = new LineSplitter((l) => lines.push(l), () => void overflows++);
        for (const c of splitAt(bytes, cuts)) s.push(c);
        for (const l of lines) {
          expect(l.length).toBeLessThanOrEqual(MAX_LINE);
          expect(l).not.toContain('\n');
        }
        const model = referenceLines(Buffer.from(bytes).toString('latin1'));
        expect(lines).toEqual(model.lines);
        expect(overflows).toBe(model.overflows);
      }),
      fuzzRuns(4_000),
    );
  });

  it('parseReply classifies any line, and a radio_rx payload is at most 255 bytes', () => {
    fc.assert(
      fc.property(fc.oneof(replyLine, fc.string({ maxLength: 700, unit: 'binary' }), fc.nat({ max: 600 }).map((n) => `radio_rx  ${'A'.repeat(n)}`)), (line) => {
        const r = parseReply(line);
        expect(['ok', 'busy', 'invalid_param', 'radio_tx_ok', 'radio_err', 'number', 'radio_rx', 'banner', 'garbage']).toContain(r.kind);
        if (r.kind === 'radio_rx') expect(r.payload.length).toBeLessThanOrEqual(RN2483_MAX_PAYLOAD);
        if (r.kind === 'number') expect(Number.isSafeInteger(r.value)).toBe(true);
        if (r.kind === 'garbage') expect(r.text.length).toBeLessThanOrEqual(80);
      }),
      fuzzRuns(6_000),
    );
  });

  it('the RN2483 driver ends set-up and transmit with an outcome or a typed AkbError whatever the modem answers', async () => {
    // Each command is answered by a few lines (or raw bytes), in chunks cut anywhere, some sent before the next write.
    const answer = fc.record({ lines: fc.array(replyLine, { maxLength: 3 }), raw: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }), cuts: fc.array(fc.nat(), { maxLength: 3 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { maxLength: 8 }), fc.uint8Array({ minLength: 1, maxLength: 255 }), fc.boolean(), async (answers, packet, closes) => {
        const line = new ScriptedLine(answers.map((a) => Uint8Array.from([...Buffer.from(a.lines.map((l) => `${l}\r\n`).join(''), 'latin1'), ...(a.raw ?? [])])), answers.map((a) => a.cuts), closes);
        const modem = new Rn2483Modem(line, { sf: 7, bwKhz: 500, cr: 1 }, 5, 1000);
        for (const step of [() => modem.setup(), () => modem.transmit(packet)]) {
          try {
            const out = await step();
            if (out !== undefined) expect(['sent', 'radio_err']).toContain(out);
          } catch (e) {
            expect(isAkbError(e), String(e)).toBe(true);
            expect(['MODEM_PROTOCOL', 'MODEM_TIMEOUT', 'MODEM_RESET', 'LINE_CLOSED']).toContain((e as { code: string }).code);
          }
        }
        expect(modem.counters.garbageLines).toBeGreaterThanOrEqual(0);
        expect(line.writes.every((w) => w.endsWith('\r\n'))).toBe(true);
      }),
      fuzzRuns(400),
    );
  });

  it('the E32 driver writes any packet as is and waits its time on air', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 58 }), async (packet) => {
        const line = new ScriptedLine([], [], false);
        const modem = new E32Modem(line, 58, 2400, 1e6);
        expect(await modem.transmit(packet)).toBe('sent');
        expect(line.bytesWritten).toEqual([packet]);
      }),
      fuzzRuns(20),
    );
  });
});

/** An in-memory modem line: the n-th write is answered by the n-th script, delivered in chunks on later ticks. */
class ScriptedLine implements ModemLine {
  readonly writes: string[] = [];
  readonly bytesWritten: Uint8Array[] = [];
  private listener: ((b: Uint8Array) => void) | undefined;
  private closeListeners: ((reason: string) => void)[] = [];
  private isOpen = true;

  constructor(private readonly scripts: Uint8Array[], private readonly cuts: number[][], private readonly closeAtEnd: boolean) {}

  get open(): boolean {
    return this.isOpen;
  }

  write(bytes: Uint8Array | string): Promise<void> {
    if (typeof bytes === 'string') this.writes.push(bytes);
    else this.bytesWritten.push(bytes);
    const n = this.writes.length - 1;
    const script = this.scripts[n];
    if (script !== undefined) {
      splitAt(script, this.cuts[n] ?? []).forEach((chunk, i) => setTimeout(() => this.listener?.(chunk), i));
    } else if (this.closeAtEnd && typeof bytes === 'string') {
      setTimeout(() => {
        this.isOpen = false;
        for (const c of this.closeListeners.splice(0)) c('closed by the test');
      }, 1);
    }
    return Promise.resolve();
  }

  onData(listener: (bytes: Uint8Array) => void): void {
    this.listener = listener;
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  close(): Promise<void> {
    this.isOpen = false;
    return Promise.resolve();
  }
}
