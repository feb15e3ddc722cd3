/**
 * The serial receiver (SerialReceiver, one class) against hostile frames, over an in-memory line that
 * records what it answers. Thrown: a HELLO declaring more bytes than the board takes; DATA frames whose
 * offset plus length passes the declared size; DATA before any HELLO; random bytes; a DONE for bytes
 * that never came; a complete file whose SHA-256 differs from the HELLO's. Nothing is written past the
 * declared size, nothing is installed that was not announced.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeSerialFrame, encodeSerialFrame, type SerialFrame } from '@akb/protocol';
import { SerialReceiver, type SerialLine } from '@akb/flash';

class MemoryLine implements SerialLine {
  readonly sent: SerialFrame[] = [];
  private listener: ((b: Uint8Array) => void) | undefined;
  write(bytes: Uint8Array): void {
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) {
        this.sent.push(decodeSerialFrame(bytes.subarray(start, i)));
        start = i + 1;
      }
    }
  }
  onData(listener: (b: Uint8Array) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  feed(f: SerialFrame | Uint8Array): void {
    this.listener?.(f instanceof Uint8Array ? f : encodeSerialFrame(f));
  }
}

let dir: string;
let line: MemoryLine;
let installs: string[];
let receiver: SerialReceiver;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-serial-hostile-'));
  line = new MemoryLine();
  installs = [];
  receiver = new SerialReceiver(line, { dir, maxBundleBytes: 4096, install: (file) => (installs.push(file), Promise.resolve({ status: 'committed', message: 'ok' })) });
  receiver.start();
});

afterEach(async () => {
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));
const sha = (b: Uint8Array): Uint8Array => createHash('sha256').update(b).digest();

describe('SerialReceiver against hostile frames', () => {
  // Thrown: a HELLO declaring 8192 bytes to a receiver that takes at most 4096.
  it('refuses a declared size over its limit before creating any file', async () => {
    line.feed({ type: 'HELLO', size: 8192, sha256: new Uint8Array(32), maxData: 1024, window: 8, force: false });
    await settle();
    expect(line.sent).toEqual([expect.objectContaining({ type: 'RESULT', status: 'refused', code: 'TOO_LARGE' })]);
    expect(await readdir(dir)).toEqual([]);
  });

  // Thrown: DATA before any HELLO, random bytes, then DATA frames ending past the declared 100 bytes.
  it('never writes past the declared size, and ignores DATA without a session', async () => {
    line.feed({ type: 'DATA', seq: 0, offset: 0, data: new Uint8Array(10) });
    line.feed(randomBytes(5000));
    line.feed(new Uint8Array([0]));
    const body = randomBytes(100);
    line.feed({ type: 'HELLO', size: 100, sha256: sha(body), maxData: 1024, window: 8, force: false });
    line.feed({ type: 'DATA', seq: 1, offset: 0, data: randomBytes(101) });
    line.feed({ type: 'DATA', seq: 2, offset: 99, data: randomBytes(2) });
    line.feed({ type: 'DATA', seq: 3, offset: 1_000_000, data: randomBytes(64) });
    await settle();
    expect((await stat(join(dir, 'serial/partial.akb'))).size).toBe(0);
    expect(line.sent.filter((f) => f.type === 'ACK')).toEqual([]);
    expect(receiver.counts.dropped).toBe(4);
    // Thrown: DONE with nothing received: answered with NAK(0), nothing installed.
    line.feed({ type: 'DONE', size: 100 });
    await settle();
    expect(line.sent.at(-1)).toEqual({ type: 'NAK', offset: 0 });
    expect(installs).toEqual([]);
  });

  // Thrown: a complete transfer whose bytes do not hash to the SHA-256 the HELLO announced.
  it('installs nothing when the received file does not match the announced SHA-256', async () => {
    const body = randomBytes(100);
    line.feed({ type: 'HELLO', size: 100, sha256: sha(randomBytes(100)), maxData: 1024, window: 8, force: false });
    line.feed({ type: 'DATA', seq: 0, offset: 0, data: body });
    line.feed({ type: 'DONE', size: 100 });
    await settle();
    expect(line.sent.at(-1)).toEqual(expect.objectContaining({ type: 'RESULT', status: 'error', code: 'HASH_MISMATCH' }));
    expect(installs).toEqual([]);
    expect(await readdir(join(dir, 'serial'))).toEqual([]);
  });

  it('installs a complete, matching transfer once and answers a repeated DONE with the same RESULT', async () => {
    const body = randomBytes(3000);
    line.feed({ type: 'HELLO', size: 3000, sha256: sha(body), maxData: 1024, window: 8, force: false });
    for (let o = 0; o < 3000; o += 1024) line.feed({ type: 'DATA', seq: o, offset: o, data: body.subarray(o, o + 1024) });
    line.feed({ type: 'DONE', size: 3000 });
    line.feed({ type: 'DONE', size: 3000 });
    await settle();
    expect(installs).toHaveLength(1);
    expect(line.sent.filter((f) => f.type === 'RESULT')).toEqual([
      { type: 'RESULT', status: 'committed', code: '', message: 'ok' },
      { type: 'RESULT', status: 'committed', code: '', message: 'ok' },
    ]);
  });
});
