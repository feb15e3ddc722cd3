/**
 * One file onto the board through the shell: the receiver script is written with a here-document and
 * its SHA-256 checked on the board (written again when a byte error damaged it); then, per file, the
 * receiver runs (started again when a byte error damaged the output path it was given: it checks the path
 * against its SHA-256, see receiver.ts) with the terminal made safe for base64 lines (no echo; no ^C, ^Z or ^S/^Q acting on a
 * damaged byte, and no line editing: a byte turned into ^D would end the receiver's input, ^U would erase a
 * line: `stty -echo -icanon min 1 time 0 -isig -ixon -iexten`, restored after), the bytes are pushed (gzip-compressed
 * when the board can gunzip), unpacked, and the result's SHA-256 compared on the board with the one the
 * caller expects (the signed manifest's) before it is moved to its place with its mode.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { AkbError } from '@akb/protocol';
import { pushBytes, type PushOptions, type PushStats } from './push.js';
import { gunzipCommand, receiverCommand, receiverScript, sha256Command } from './receiver.js';
import { shellWord, type BoardShell } from './shell.js';
import type { BoardTools } from './tools.js';

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The SHA-256 the board computes for `path` (quoted), asked again when a byte error damaged the answer; undefined when none came. */
async function boardSha256(shell: BoardShell, tools: BoardTools, path: string): Promise<string | undefined> {
  for (let tries = 0; tries < 3; tries++) {
    const answer = await shell.run(sha256Command(tools.receiver, path), { timeoutMs: 120_000 });
    const hash = /\b[0-9a-f]{64}\b/u.exec(answer.output)?.[0];
    if (answer.status === 0 && hash !== undefined) return hash;
  }
  return undefined;
}

/** Writes the receiver script to `<dir>/.akb-rx` and checks it; returns its quoted path. */
export async function writeReceiver(shell: BoardShell, tools: BoardTools, dir: string): Promise<string> {
  const path = shellWord(`${dir}/.akb-rx`);
  const script = receiverScript(tools.receiver);
  for (let tries = 0; tries < 3; tries++) {
    await shell.console.write(`cat > ${path} <<'AKBEOF'\n${script}AKBEOF\n`);
    let answer = await shell.tryRun(sha256Command(tools.receiver, path));
    if (!answer) {
      // a damaged terminator leaves the shell inside the here-document: end it, then ask again
      await shell.console.write('\nAKBEOF\n');
      answer = await shell.tryRun(sha256Command(tools.receiver, path));
    }
    if (answer?.output.includes(sha256(script))) return path;
  }
  throw new AkbError('BOOTSTRAP_LINE', 'the receiver script arrived damaged three times', { hint: 'check the cable and the baud rate (--baud)' });
}

export interface SendFileOptions extends PushOptions {
  /** Compress on the wire (the board must gunzip). */
  gzip: boolean;
  /** Permission bits of the file on the board (default 0644). */
  mode?: number;
  /** What to push when `gzip`, if the caller compressed it already (gzip of the data). */
  compressed?: Buffer;
}

export interface SentFile extends PushStats {
  /** Bytes that went through the receiver (compressed when gzip); `bytes` is the file's own size. */
  pushedBytes: number;
}

/** Sends `data` to `target` on the board (a path under the bootstrap folder) and checks its SHA-256 there. */
export async function sendFile(shell: BoardShell, tools: BoardTools, rx: string, target: string, data: Buffer, o: SendFileOptions): Promise<SentFile> {
  const final = shellWord(target);
  const wirePath = `${target}.akb-in`;
  const wire = shellWord(wirePath);
  const plain = shellWord(`${target}.akb-new`);
  const pushed = o.gzip ? (o.compressed ?? gzipSync(data, { level: 9 })) : data;
  const id = randomBytes(4).toString('hex');
  const start = `old=$(stty -g); stty -echo -icanon min 1 time 0 -isig -ixon -iexten; ${receiverCommand(tools.receiver, rx, wirePath)}; st=$?; stty "$old"; printf '%s%s %s\\n' '@@r${id}' '@@' "$st"\n`;
  let ready = false;
  let badArg = false;
  for (let tries = 0; tries < 3 && !ready; tries++) {
    if (tries > 0) await shell.console.write('\x03\n');
    shell.console.clear();
    await shell.console.write(start);
    // a NAK: the receiver runs (its READY was damaged on the way back) and took the next line for a chunk;
    // BADARG: a byte error damaged the output path on the way (the receiver wrote nothing): start it again
    const m = await shell.console.waitFor(/AKB-RX-READY|AKB-NAK 0|AKB-RX-BADARG/u, shell.timeoutMs);
    badArg = m?.[0] === 'AKB-RX-BADARG';
    ready = m !== undefined && !badArg;
    if (badArg) await shell.console.waitFor(new RegExp(`@@r${id}@@ \\d+`, 'u'), shell.timeoutMs);
  }
  if (badArg) {
    throw new AkbError('BOOTSTRAP_LINE', `the receiver's output path ${wirePath} arrived damaged three times`, { hint: 'check the cable and the baud rate (--baud)' });
  }
  if (!ready) {
    throw new AkbError('CONSOLE_SILENT', `the receiver did not start on the board (last heard: ${shell.console.tail()})`, {
      hint: `the board's ${tools.receiver} could not run the receiver script`,
    });
  }
  const stats = await pushBytes(shell.console, pushed, o);
  // the receiver said AKB-DONE; its exit marker may be damaged on the way back, and the file is checked below anyway
  await shell.console.waitFor(new RegExp(`@@r${id}@@ (\\d+)`, 'u'), shell.timeoutMs);
  // each command can be run twice (a byte error may damage it, and check runs it again); a damaged unpack
  // can even succeed at the wrong thing (a path changed), so unpack and hash are tried together
  const unpack = o.gzip ? gunzipCommand(tools.receiver, wire, plain) : `cat ${wire} > ${plain}`;
  const expected = sha256(data);
  let found: string | undefined;
  for (let tries = 0; tries < 3 && found !== expected; tries++) {
    await shell.check(unpack, `unpacking ${target}`, { timeoutMs: 120_000 });
    found = await boardSha256(shell, tools, plain);
  }
  if (found !== expected) {
    await shell.run(`rm -f ${plain} ${wire}`);
    throw new AkbError('BOOTSTRAP_VERIFY', `${target} on the board does not match its SHA-256 after unpacking`, { hint: 'send it again' });
  }
  const mode = (o.mode ?? 0o644).toString(8);
  await shell.check(`{ [ ! -f ${plain} ] || { chmod ${mode} ${plain} && mv -f ${plain} ${final}; }; } && rm -f ${wire} && test -f ${final}`, `installing ${target}`);
  return { ...stats, bytes: data.length, pushedBytes: pushed.length };
}
