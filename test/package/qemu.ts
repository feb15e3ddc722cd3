/**
 * Running a bundle's edge runtime on this x64 machine: under qemu-user with the bundle's own ARM Node.js
 * (`qemu-aarch64-static -L <sysroot> <slot>/node/bin/node <slot>/app/akb-edge.mjs …`), or with the host's
 * Node.js, against a broker, capturing the frames the device publishes on link/tx. No vitest here, so
 * bench/package/qemu.ts uses it too.
 *
 * The sysroots (.cache/sysroot/{arm64,armhf}) hold Debian's C libraries unpacked by .ci/qemu-sysroot;
 * nothing ARM is installed on the machine. Native onnxruntime-node crashes (SIGSEGV) on load under
 * Debian's qemu 7.2, so every run here passes `--backends onnxruntime-web-wasm`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFrame, topics } from '@akb/protocol';
import { connectMqtt } from '@akb/protocol/mqtt';
import { Inbox, uniqueId } from '../support/inbox.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The CIFAR-10 test images (models/samples/cifar10-test) a proof run sends: three keep a run under qemu to about a minute. */
export const PROOF_IMAGES = ['00000-airplane.jpg', '03034-cat.jpg', '08029-ship.jpg'];

export type QemuArch = 'arm64' | 'armhf';

export interface QemuTarget {
  /** The qemu-user program (Debian package qemu-user-static). */
  readonly qemu: string;
  /** The sysroot .ci/qemu-sysroot makes, and the loader that shows it is complete. */
  readonly sysroot: string;
  readonly loader: string;
}

export const QEMU_TARGETS: Readonly<Record<QemuArch, QemuTarget>> = {
  arm64: { qemu: 'qemu-aarch64-static', sysroot: join(repoRoot, '.cache/sysroot/arm64'), loader: 'lib/ld-linux-aarch64.so.1' },
  armhf: { qemu: 'qemu-arm-static', sysroot: join(repoRoot, '.cache/sysroot/armhf'), loader: 'lib/ld-linux-armhf.so.3' },
};

/**
 * The sysroot of `arch`, made by .ci/qemu-sysroot when missing (it needs root and Debian's archive);
 * throws one line saying what to run when it cannot be made.
 */
export function ensureSysroot(arch: QemuArch): string {
  const target = QEMU_TARGETS[arch];
  const ready = () => existsSync(join(target.sysroot, target.loader)) && existsSync(join(target.sysroot, '.complete'));
  if (ready()) return target.sysroot;
  const r = spawnSync('bash', [join(repoRoot, '.ci/qemu-sysroot'), arch], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0 || !ready()) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').pop();
    throw new Error(`no ${arch} sysroot in ${target.sysroot} (run as root: bash .ci/qemu-sysroot ${arch}; it said: ${why})`);
  }
  return target.sysroot;
}

/** How to start a slot's edge runtime: `qemu` with the slot's own Node.js, or `host` with this Node.js. */
export type EdgeRunner = { kind: 'qemu'; arch: QemuArch } | { kind: 'host' };

export function edgeCommand(slot: string, runner: EdgeRunner, args: readonly string[], nodeArgs: readonly string[] = []): { command: string; args: string[] } {
  const app = join(slot, 'app/akb-edge.mjs');
  if (runner.kind === 'host') return { command: process.execPath, args: [...nodeArgs, app, ...args] };
  const target = QEMU_TARGETS[runner.arch];
  return { command: target.qemu, args: ['-L', target.sysroot, join(slot, 'node/bin/node'), ...nodeArgs, app, ...args] };
}

export interface EdgeRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The payloads published on the device's link/tx, in arrival order. */
  readonly frames: Uint8Array[];
  /** Wall time from spawn to exit, ms (for the bench; tests do not look at it). */
  readonly ms: number;
}

export interface EdgeRunOptions {
  slot: string;
  runner: EdgeRunner;
  brokerUrl: string;
  /** The folder of images to send (`--images … --once`). */
  images: string;
  /** The slot's model set and profile: the same environment a bundle's bin/akb-edge launcher sets. */
  env: Record<string, string>;
  /** Node.js flags before the script (the launcher's memory settings). */
  nodeArgs?: readonly string[];
  /** Killed (SIGKILL) past this, ms. */
  timeoutMs: number;
  extraArgs?: readonly string[];
}

/** Runs the slot's akb-edge once over `images` with WASM inference and the mqtt link; collects its frames. */
export async function runSlotEdge(o: EdgeRunOptions): Promise<EdgeRun> {
  const device = uniqueId('qemu').replace(/[^A-Za-z0-9._-]/g, '');
  const tool = await connectMqtt({ url: o.brokerUrl, clientId: uniqueId('tap') });
  const inbox = await Inbox.open(tool, topics.linkTx(device), 1);
  try {
    const args = ['--device', device, '--broker', o.brokerUrl, '--backends', 'onnxruntime-web-wasm', '--images', o.images, '--once'];
    const { command, args: argv } = edgeCommand(o.slot, o.runner, [...args, '--link', 'mqtt', '--dtype', 'float32', '--telemetry-ms', '0', '--seed', '7', ...(o.extraArgs ?? [])], o.nodeArgs);
    const started = Date.now();
    const child = spawn(command, argv, { cwd: o.slot, env: { ...process.env, AKB_DEBUG: '1', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    }).finally(() => clearTimeout(timer));
    const ms = Date.now() - started;
    // QoS 1 frames the edge published before it exited are at the broker; give the tap a moment to drain.
    await inbox.quiet(200);
    return { code, signal, stdout, stderr, frames: inbox.messages.map((m) => new Uint8Array(m.payload)), ms };
  } finally {
    inbox.close();
    await tool.close({ force: true });
  }
}

/** What two runs of the same bundle on the same images must agree on, frame by frame. */
export interface FrameComparison {
  readonly frames: number;
  /** Frames whose symbol payload bytes differ. */
  readonly differing: number;
  /** Largest |a - b| of a float32 symbol (0 when the payloads are identical). */
  readonly maxSymbolDiff: number;
  /** Header fields that differ (other than the session id and timestamp, which differ between runs). */
  readonly headerMismatches: string[];
}

/** The float32 symbols of a frame (runSlotEdge asks for --dtype float32). */
function symbolsOf(frame: ReturnType<typeof decodeFrame>): Float32Array {
  if (frame.header.dtype !== 'float32') throw new Error(`frame ${frame.header.frameId} carries ${frame.header.dtype} symbols, not float32`);
  const p = frame.payload;
  const out = new Float32Array(p.byteLength / 4);
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

const COMPARED_FIELDS = ['dtype', 'actionId', 'frameId', 'fragmentIndex', 'fragmentCount', 'kbVersion', 'kbEntry', 'hasKbEntry', 'totalSymbols', 'symbolOffset', 'scale'] as const;

export function compareFrames(a: readonly Uint8Array[], b: readonly Uint8Array[]): FrameComparison {
  const headerMismatches: string[] = [];
  if (a.length !== b.length) headerMismatches.push(`frame count ${a.length} != ${b.length}`);
  let differing = 0;
  let maxSymbolDiff = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const fa = decodeFrame(a[i]!);
    const fb = decodeFrame(b[i]!);
    for (const field of COMPARED_FIELDS) {
      if (fa.header[field] !== fb.header[field]) headerMismatches.push(`frame ${i}: ${field} ${String(fa.header[field])} != ${String(fb.header[field])}`);
    }
    if (Buffer.compare(Buffer.from(fa.payload), Buffer.from(fb.payload)) === 0) continue;
    differing++;
    const sa = symbolsOf(fa);
    const sb = symbolsOf(fb);
    for (let k = 0; k < Math.min(sa.length, sb.length); k++) maxSymbolDiff = Math.max(maxSymbolDiff, Math.abs(sa[k]! - sb[k]!));
  }
  return { frames: Math.min(a.length, b.length), differing, maxSymbolDiff, headerMismatches };
}
