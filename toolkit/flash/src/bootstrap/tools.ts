/**
 * What the board's shell offers the bootstrap: python3 (one process decodes and checks every chunk), or
 * POSIX sh with `base64` and `sha256sum` (coreutils or busybox; two short processes per chunk); `gzip`
 * (or python3's zlib) to send the agent compressed; `node` and its version (the agent needs Node.js
 * 20.11 or newer; a board without one must first get the bundle's own, through the shell). python3 is
 * preferred when present: it is faster per chunk and needs nothing else.
 */
import { AkbError } from '@akb/protocol';
import type { BoardShell } from './shell.js';

export type ReceiverKind = 'python3' | 'sh';

export interface BoardTools {
  receiver: ReceiverKind;
  /** The board can gunzip what it receives. */
  gunzip: boolean;
  /** The Node.js version on PATH (e.g. "20.19.0"), or undefined. */
  node: string | undefined;
  /** Every probed program found, for the message. */
  found: string[];
}

const PROGRAMS = ['python3', 'base64', 'sha256sum', 'gzip', 'stty', 'node'] as const;

/** Asks the shell which programs are on its PATH and picks the receiver (`prefer` forces one when present). */
export async function detectTools(shell: BoardShell, prefer?: ReceiverKind): Promise<BoardTools> {
  const listed = await shell.run(`for p in ${PROGRAMS.join(' ')}; do command -v "$p" >/dev/null 2>&1 && printf 'has:%s\\n' "$p"; done; true`);
  const found = PROGRAMS.filter((p) => listed.output.includes(`has:${p}\n`));
  const sh = found.includes('base64') && found.includes('sha256sum');
  const py = found.includes('python3');
  let receiver: ReceiverKind;
  if (prefer === 'sh' && sh) receiver = 'sh';
  else if (prefer === 'python3' && py) receiver = 'python3';
  else if (prefer !== undefined) {
    throw new AkbError('BOOTSTRAP_NO_TOOLS', `the board has no ${prefer === 'sh' ? 'base64 and sha256sum' : 'python3'} for the ${prefer} receiver (found: ${found.join(', ') || 'none'})`, {
      hint: 'leave out --receiver: the bootstrap picks what the board has',
    });
  } else if (py) receiver = 'python3';
  else if (sh) receiver = 'sh';
  else {
    throw new AkbError('BOOTSTRAP_NO_TOOLS', `the board's shell has neither python3 nor base64 with sha256sum (found: ${found.join(', ') || 'none'})`, {
      hint: 'install coreutils or busybox (base64, sha256sum) or python3 on the board, or flash its storage directly',
    });
  }
  let node: string | undefined;
  if (found.includes('node')) {
    const v = await shell.run("node -p 'process.versions.node' 2>/dev/null");
    node = /^(\d+\.\d+\.\d+)\s*$/u.exec(v.output)?.[1];
  }
  return { receiver, gunzip: receiver === 'python3' || found.includes('gzip'), node, found };
}

/** True when `version` (x.y.z) is at least major.minor. */
export function nodeAtLeast(version: string | undefined, min: { major: number; minor: number }): boolean {
  if (version === undefined) return false;
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return major > min.major || (major === min.major && minor >= min.minor);
}
