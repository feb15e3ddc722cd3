/**
 * `akb flash --bootstrap`: a fresh board with only a login shell on its serial console gets the install
 * agent through that shell, then the rest of the bundle through the framed protocol. Phases, each a
 * named function: log in (login.ts), find the board's tools (tools.ts), write and check the receiver
 * (transfer.ts), send what must go first (plan.ts) chunk by checked chunk, check each file's SHA-256 on
 * the board against the signed manifest, start the agent (`bin/akb-agent status`: Node.js runs it and
 * it reads the board's slots), and say how long the rest takes at this line rate.
 * Files go to `boardDir` (default `.akb-agent`, under the login's home): `bin/akb-agent`,
 * `app/akb-agent.mjs`, `profile.json`, `node/bin/node` when it had to be sent, and `keys/<id>.pub` for
 * each trusted key given (SPKI PEM; id: the first 16 hex digits of the key id), which the agent on the
 * board then trusts (`--trust <boardDir>/keys`) when the bundle arrives.
 */
import { stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { AkbError } from '@akb/protocol';
import type { TrustedKey } from '../keys.js';
import { ConsoleText, type ConsoleLine } from './console.js';
import { loginShell, type LoginOptions } from './login.js';
import { BOOTSTRAP_SHARE, FRAMED_SHARE, NODE_FILE, formatDuration, lineSeconds, planBootstrap, type BootstrapPlan, type PlannedFile } from './plan.js';
import { shellWord, type BoardShell } from './shell.js';
import { detectTools, nodeAtLeast, type BoardTools, type ReceiverKind } from './tools.js';
import { sendFile, writeReceiver, type SentFile } from './transfer.js';
import type { PushOptions } from './push.js';

/** The oldest Node.js the bundled agent runs on (toolkit's launchers check the same). */
export const AGENT_NODE_MIN = { major: 20, minor: 11 } as const;
export const DEFAULT_BOARD_DIR = '.akb-agent';

export interface BootstrapOptions extends LoginOptions {
  bundle: string;
  trustedKeys: readonly TrustedKey[];
  /** The line rate, bits per second (for estimates and time limits). */
  baud: number;
  /** Folder on the board for the agent (default `.akb-agent`, relative to the login's home). */
  boardDir?: string;
  /** The install root the started agent reads (`--root`); default the profile's. */
  agentRoot?: string;
  /** Force a receiver (default: python3 when present, else sh). */
  receiver?: ReceiverKind;
  push?: Pick<PushOptions, 'chunkBytes' | 'windowBytes' | 'idleMs' | 'maxSilences'>;
  /** One line per step, for the person watching. */
  onStep?: (line: string) => void;
  /** Progress of the file being sent. */
  onProgress?: (path: string, heldBytes: number, totalBytes: number) => void;
}

export interface BootstrapResult {
  receiver: ReceiverKind;
  tools: string[];
  boardDir: string;
  /** Per file sent: path, size, bytes on the wire, chunks, resends. */
  sent: (SentFile & { path: string })[];
  /** Seconds the sends took (login and checks excluded). */
  sendSeconds: number;
  /** Estimated seconds for the rest of the bundle through the framed protocol. */
  restSeconds: number;
  /** The shell, still logged in, for what comes next. */
  shell: BoardShell;
}

async function readyFolder(shell: BoardShell, dir: string): Promise<void> {
  const d = shellWord(dir);
  await shell.check(`mkdir -p ${d}/bin ${d}/app ${d}/node/bin ${d}/keys && test -w ${d}`, `creating ${dir}`);
}

/** The trusted keys as files for the board's agent. */
function keyFiles(keys: readonly TrustedKey[]): PlannedFile[] {
  return keys.map((k) => ({ path: `keys/${k.keyId.slice(0, 16)}.pub`, mode: 0o644, bytes: Buffer.from(k.key.export({ format: 'pem', type: 'spki' }).toString()) }));
}

function needsNode(tools: BoardTools, plan: BootstrapPlan | undefined): boolean {
  return !nodeAtLeast(tools.node, AGENT_NODE_MIN) && plan?.nodeBytes !== undefined;
}

function describeTools(tools: BoardTools): string {
  const how = tools.receiver === 'python3' ? 'python3' : 'sh with base64 and sha256sum';
  return `the board has ${tools.found.join(', ')}: receiving with ${how}${tools.gunzip ? ', compressed' : ''}; Node.js ${tools.node ?? 'none'}`;
}

async function startAgent(shell: BoardShell, dir: string, root: string | undefined): Promise<string> {
  const rootArg = root === undefined ? '' : ` --root ${shellWord(root)}`;
  const out = await shell.check(`${shellWord(`${dir}/bin/akb-agent`)} status${rootArg}`, 'starting the install agent', { timeoutMs: 60_000 });
  return out.trim().split('\n')[0] ?? '';
}

/** Runs the bootstrap over `line`; the shell stays logged in (result.shell) for the framed protocol. */
export async function runBootstrap(line: ConsoleLine, o: BootstrapOptions): Promise<BootstrapResult> {
  const step = o.onStep ?? (() => undefined);
  const dir = o.boardDir ?? DEFAULT_BOARD_DIR;
  const bundleBytes = (await stat(o.bundle).catch((e: unknown) => {
    throw new AkbError('BUNDLE_NOT_FOUND', `cannot read the bundle ${o.bundle}`, { cause: e, hint: 'check the path', exitCode: 2 });
  })).size;
  const first = await planBootstrap(o.bundle, { trustedKeys: o.trustedKeys, node: false, bundleBytes });
  const console_ = new ConsoleText(line);
  const shell = await loginShell(console_, o);
  step('logged in; the shell answers');
  const tools = await detectTools(shell, o.receiver);
  step(describeTools(tools));
  let files = first.files;
  if (!nodeAtLeast(tools.node, AGENT_NODE_MIN)) {
    if (!needsNode(tools, first)) {
      throw new AkbError('BOOTSTRAP_NO_NODE', `the board has no Node.js ${AGENT_NODE_MIN.major}.${AGENT_NODE_MIN.minor} or newer and the bundle carries none`, {
        hint: 'package the bundle without --no-node, or install Node.js on the board',
      });
    }
    step(`the board has no suitable Node.js: ${NODE_FILE} (${(first.nodeBytes! / 1e6).toFixed(1)} MB) must go through the shell first`);
    files = (await planBootstrap(o.bundle, { trustedKeys: o.trustedKeys, node: true, bundleBytes })).files;
  }
  files = [...files, ...keyFiles(o.trustedKeys)];
  await readyFolder(shell, dir);
  const rx = await writeReceiver(shell, tools, dir);
  const wire = files.map((f) => (tools.gunzip ? gzipSync(f.bytes, { level: 9 }) : f.bytes));
  const wireBytes = wire.reduce((n, b) => n + b.length, 0);
  step(`${files.length} files, ${wireBytes} bytes to push${tools.gunzip ? ' compressed' : ''}: about ${formatDuration(lineSeconds(wireBytes, o.baud, BOOTSTRAP_SHARE))} at ${o.baud} baud`);
  const sent: BootstrapResult['sent'] = [];
  const started = performance.now();
  for (const [i, f] of files.entries()) {
    step(`sending ${f.path} (${f.bytes.length} bytes)`);
    const r = await sendFile(shell, tools, rx, `${dir}/${f.path}`, f.bytes, {
      ...o.push,
      baud: o.baud,
      gzip: tools.gunzip,
      compressed: wire[i]!,
      mode: f.mode,
      onProgress: (held, total) => o.onProgress?.(f.path, held, total),
    });
    sent.push({ ...r, path: f.path });
  }
  const sendSeconds = (performance.now() - started) / 1000;
  await shell.run(`rm -f ${rx}`);
  step(`agent started: ${await startAgent(shell, dir, o.agentRoot)}`);
  const restSeconds = lineSeconds(bundleBytes, o.baud, FRAMED_SHARE);
  step(`the bundle (${(bundleBytes / 1e6).toFixed(1)} MB) follows through the framed protocol: about ${formatDuration(restSeconds)} at ${o.baud} baud`);
  return { receiver: tools.receiver, tools: tools.found, boardDir: dir, sent, sendSeconds, restSeconds, shell };
}
