/**
 * Sends one file to the receiver running on the board (receiver.ts has the line protocol): chunks of
 * `chunkBytes` as base64 lines, each with its SHA-256, go-back-n with a window of `windowBytes` of lines
 * not yet acknowledged. The window stays under the 4096-byte input buffer of a Linux tty (n_tty), so a
 * real UART without flow control never drops a line because the receiver was busy checking the one
 * before. A damaged line is answered AKB-NAK and sent again from there; a lost line or a lost answer
 * shows as silence and after `idleMs` everything not acknowledged is sent again. Gives up in one line
 * after `maxSilences` silences in a row, or when resends pass four times the chunk count (a line that
 * damages nearly every chunk).
 *
 * 1024-byte chunks and a 3000-byte window give 1440-byte lines, two in flight, so the receiver's work
 * hides behind the next line: bench/flash/bootstrap.ts measured 0.69 of the line rate at 115200 baud
 * through the pacing relay, against the format's ceiling of 1024/1440 = 0.711.
 */
import { createHash } from 'node:crypto';
import { AkbError } from '@akb/protocol';
import type { ConsoleText } from './console.js';

export interface PushOptions {
  /** Bytes of the file per line (default 1024). */
  chunkBytes?: number;
  /** Most bytes of unacknowledged lines in flight (default 3000); one line is always allowed. */
  windowBytes?: number;
  /** The line rate, for the silence limit (default 115200). */
  baud?: number;
  /** Silence before sending again from the first unacknowledged chunk, ms (default: 2 s + twice the window's time on the line). */
  idleMs?: number;
  /** Silences in a row before giving up (default 8). */
  maxSilences?: number;
  /** Called after each acknowledgement with the bytes of the file the board holds. */
  onProgress?: (heldBytes: number, totalBytes: number) => void;
}

export interface PushStats {
  bytes: number;
  chunks: number;
  /** Lines sent again (after a NAK or a silence). */
  resends: number;
  naks: number;
  silences: number;
  /** Characters written to the line, resends included. */
  wireBytes: number;
}

const ANSWER = /AKB-(ACK|NAK|DONE|FAIL) (\d+)/u;

function lines(data: Buffer, chunkBytes: number): string[] {
  const out: string[] = [];
  for (let seq = 0; seq * chunkBytes < data.length; seq++) {
    const chunk = data.subarray(seq * chunkBytes, (seq + 1) * chunkBytes);
    out.push(`C ${seq} ${createHash('sha256').update(chunk).digest('hex')} ${chunk.toString('base64')}\n`);
  }
  return out;
}

/** Pushes `data` through the receiver that `console` talks to (started, AKB-RX-READY seen). */
export async function pushBytes(console_: ConsoleText, data: Buffer, o: PushOptions = {}): Promise<PushStats> {
  const chunkBytes = o.chunkBytes ?? 1024;
  const windowBytes = o.windowBytes ?? 3000;
  const idleMs = o.idleMs ?? 2000 + Math.ceil((2 * windowBytes * 10 * 1000) / (o.baud ?? 115_200));
  const maxSilences = o.maxSilences ?? 8;
  const sent = lines(data, chunkBytes);
  const count = sent.length;
  const stats: PushStats = { bytes: data.length, chunks: count, resends: 0, naks: 0, silences: 0, wireBytes: 0 };
  const write = async (line: string): Promise<void> => {
    stats.wireBytes += line.length;
    await console_.write(line);
  };
  const giveUp = (why: string): AkbError =>
    new AkbError('BOOTSTRAP_LINE', `the bootstrap gave up sending to the board: ${why} (last heard: ${console_.tail()})`, {
      hint: 'check the cable and the baud rate (--baud); a lower baud rate suffers fewer byte errors',
    });
  let base = 0;
  let next = 0;
  let highest = 0;
  let silences = 0;
  while (base < count) {
    let inFlight = 0;
    for (let i = base; i < next; i++) inFlight += sent[i]!.length;
    while (next < count && (next === base || inFlight + sent[next]!.length <= windowBytes)) {
      if (next < highest) stats.resends++;
      inFlight += sent[next]!.length;
      await write(sent[next]!);
      next++;
      highest = Math.max(highest, next);
    }
    const m = await console_.waitFor(ANSWER, idleMs);
    if (!m) {
      if (++silences >= maxSilences) throw giveUp(`no answer ${maxSilences} times in a row`);
      stats.silences++;
      next = base;
      continue;
    }
    silences = 0;
    const n = Number(m[2]);
    if (m[1] === 'ACK' && n > base && n <= count) {
      base = n;
      if (next < base) next = base;
      o.onProgress?.(Math.min(base * chunkBytes, data.length), data.length);
    } else if (m[1] === 'NAK' && n >= base && n < next) {
      stats.naks++;
      base = n;
      next = n;
    } else if (m[1] === 'FAIL' || m[1] === 'DONE') {
      throw giveUp(`the receiver ended early (${m[0]})`);
    }
    if (stats.resends > 4 * count + 50) throw giveUp(`${stats.resends} lines sent again for ${count} chunks`);
  }
  const whole = createHash('sha256').update(data).digest('hex');
  for (let tries = 0; ; tries++) {
    if (tries >= maxSilences) throw giveUp('the end of the file was never confirmed');
    // The digest twice: a byte damaged on the way makes the two differ and the receiver asks again
    // (AKB-NAK), where one damaged digest would have failed the whole file.
    await write(`E ${count} ${whole} ${whole}\n`);
    const m = await console_.waitFor(/AKB-(DONE|FAIL|NAK) (\d+)/u, idleMs);
    if (m?.[1] === 'DONE') return stats;
    if (m?.[1] === 'FAIL') {
      throw new AkbError('BOOTSTRAP_VERIFY', "the file's SHA-256 on the board does not match what was sent, though every chunk matched (a bug)");
    }
  }
}
