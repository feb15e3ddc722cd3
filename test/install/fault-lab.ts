/**
 * Real file-system faults for the install side (issue 14, item 5), no vitest here so the reliability bench
 * can run them too: a tmpfs mounted for the occasion (disk full: a ballast file leaves too little room;
 * read-only: `mount -o remount,ro`), snapshots of the running slot (every file's mode and SHA-256,
 * state.json, the `current` link) to tell "untouched" byte for byte, `runuser` to run akb-agent as another
 * user (root ignores permission bits), and a FaultLab holding the keys, signed bundles and an aedes broker
 * the scenarios (fault-fs.ts) share. Everything mounted is tracked and unmounted by `close`, even
 * after a failure. All of it needs root: `faultsUnavailable` says why it cannot run here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import type { OtaResult } from '@akb/protocol';
import { OtaJobRunner, type BundleInfo, type InstallResult } from '@akb/flash';
import { installBundle, readInstalledSlot } from '@akb/edge/install';
import { startAedes, type AedesHandle } from '../support/aedes.js';
import { makeKeys, startDevice, tinyBundle, PROFILE, type Keys, type SimDevice } from '../ota/fleet.js';
import { REPO } from './slot-bundle.js';

export const MiB = 1024 * 1024;

/** A tmpfs of a fixed size mounted on a fresh folder; `fill` takes its room away, `unfill` gives it back. */
export class Tmpfs {
  private ballast: string | undefined;
  private mounted = true;

  private constructor(readonly path: string) {}

  static mount(sizeBytes: number): Tmpfs {
    const path = mkdtempSync(join(tmpdir(), 'akb-fault-fs-'));
    chmodSync(path, 0o755);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', path], { stdio: 'pipe' });
    return new Tmpfs(path);
  }

  /** Bytes free for a writer. */
  free(): number {
    const s = statfsSync(this.path);
    return s.bavail * s.bsize;
  }

  /** Writes a ballast file so that about `leaveBytes` stay free (a page or two of slack either way). */
  fill(leaveBytes: number): void {
    const path = join(this.path, 'ballast.bin');
    const fd = openSync(path, 'a');
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    try {
      for (let left = this.free() - leaveBytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    } finally {
      closeSync(fd);
    }
    this.ballast = path;
  }

  unfill(): void {
    if (this.ballast) rmSync(this.ballast, { force: true });
    this.ballast = undefined;
  }

  remount(mode: 'ro' | 'rw'): void {
    execFileSync('mount', ['-o', `remount,${mode}`, this.path], { stdio: 'pipe' });
  }

  /** Unmounts (lazily when busy) and removes the mount point; safe to call twice. */
  unmount(): void {
    if (!this.mounted) return;
    this.mounted = false;
    try {
      execFileSync('umount', [this.path], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', this.path], { stdio: 'pipe' });
    }
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Why these faults cannot be produced here (not root, no tmpfs, no runuser), or undefined. */
export function faultsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs and to run akb-agent as nobody (run as root, as CI does)';
  let probe: Tmpfs | undefined;
  try {
    probe = Tmpfs.mount(MiB);
    probe.remount('ro');
  } catch (e) {
    return `cannot mount and remount a tmpfs here: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    try {
      probe?.unmount();
    } catch {
      // the probe's own failure is reported above
    }
  }
  try {
    execFileSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(join(REPO, 'runtime-edge/dist/install/main.js'))})`], { stdio: 'pipe' });
  } catch (e) {
    return `cannot run ${process.execPath} as nobody on runtime-edge/dist/install/main.js (runuser missing, or not built: npx tsc -b runtime-edge): ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs akb-agent (the built runtime-edge/dist/install/main.js) as `user` through runuser. It gets SIGTERM
 * (akb-agent ota exits 0 on it) once its stdout matches `stopOn`, or after `stopMs`; runuser gets SIGKILL
 * 5 s after that.
 */
export function agentAs(user: string, args: readonly string[], o: { stopMs?: number; stopOn?: RegExp } = {}): Promise<Run> {
  const main = join(REPO, 'runtime-edge/dist/install/main.js');
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', user, '--', process.execPath, main, ...args], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killer: NodeJS.Timeout | undefined;
    // SIGTERM goes to akb-agent itself: runuser, signalled, kills its child 2 s later whatever it does.
    const stop = (): void => {
      if (killer) return;
      for (const pid of childrenOf(child.pid)) process.kill(pid, 'SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    };
    const timer = setTimeout(stop, o.stopMs ?? 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (o.stopOn?.test(stdout)) stop();
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The child processes of `pid` (Linux /proc). */
function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The running slot as it lies on disk: state.json, where `current` points, and every file of that slot. */
export interface SlotSnapshot {
  state: string;
  current: string;
  /** Path in the slot → "<mode> <sha256>" (links: "link <target>"). */
  files: Record<string, string>;
}

async function treeHashes(dir: string, prefix = '', out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await lstat(path);
    const rel = prefix + name;
    if (st.isDirectory()) await treeHashes(path, `${rel}/`, out);
    else if (st.isSymbolicLink()) out[rel] = `link ${await readlink(path)}`;
    else out[rel] = `${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
  }
  return out;
}

export async function snapshot(root: string): Promise<SlotSnapshot> {
  const current = await readlink(join(root, 'current'));
  return { state: await readFile(join(root, 'state.json'), 'utf8'), current, files: await treeHashes(join(root, current)) };
}

/** True when `root`'s running slot is byte-identical to `before` and the edge still reads it as `version`. */
export async function slotIntact(root: string, before: SlotSnapshot, version: string): Promise<boolean> {
  const now = await snapshot(root).catch(() => undefined);
  if (!now || JSON.stringify(now) !== JSON.stringify(before)) return false;
  const running = await readInstalledSlot(join(root, 'current'));
  return running.ok && running.installed.version === version;
}

/** Names in `dir` (recursively, relative) other than `expected`: what a failed step left behind. */
export async function leftovers(dir: string, expected: readonly string[]): Promise<string[]> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return names.filter((n) => !expected.some((e) => n === e || n.startsWith(`${e}/`))).sort();
}

/** The one line a person would read: the message and its hint. */
export function lineOf(e: unknown): string {
  if (e instanceof Error && 'toLine' in e && typeof e.toLine === 'function') return String((e.toLine as () => string).call(e));
  return e instanceof Error ? e.message : String(e);
}

/** Keys, bundles and a broker shared by the scenarios; tracks what it mounted so `close` unmounts it all. */
export class FaultLab {
  private readonly mounts: Tmpfs[] = [];
  private readonly devices: SimDevice[] = [];
  private jobs = 0;

  private constructor(
    readonly dir: string,
    readonly keys: Keys,
    /** v1 1.0.0 and v11 1.1.0 (10 kB payloads), big 2.0.0 (1.5 MB of random bytes). */
    readonly bundles: { v1: BundleInfo; v11: BundleInfo; big: BundleInfo },
    readonly broker: AedesHandle,
    readonly sender: AkbMqttClient,
  ) {}

  static async open(): Promise<FaultLab> {
    const dir = mkdtempSync(join(tmpdir(), 'akb-fault-lab-'));
    chmodSync(dir, 0o755); // akb-agent run as nobody reads the bundles and the public key here
    const keys = await makeKeys(dir, 'release');
    const bundles = {
      v1: await tinyBundle(join(dir, 'v1.akb'), { version: '1.0.0', keys, payloadBytes: 10_000 }),
      v11: await tinyBundle(join(dir, 'v11.akb'), { version: '1.1.0', keys, payloadBytes: 10_000 }),
      big: await tinyBundle(join(dir, 'big.akb'), { version: '2.0.0', keys, payloadBytes: 1_500_000 }),
    };
    const broker = await startAedes();
    const sender = await connectMqtt({ url: broker.url, clientId: `fault-sender-${process.pid}`, reconnectPeriodMs: 200 });
    return new FaultLab(dir, keys, bundles, broker, sender);
  }

  tmpfs(sizeBytes: number): Tmpfs {
    const fs = Tmpfs.mount(sizeBytes);
    this.mounts.push(fs);
    return fs;
  }

  /** Installs through akb-agent's own run function (run.ts), the health check passing. */
  install(root: string, bundle: BundleInfo): Promise<InstallResult> {
    return installBundle(bundle.path, {
      root, profile: PROFILE, trust: [this.keys.pub], deviceId: 'fault-device', out: () => undefined,
      healthCheck: () => Promise.resolve({ ok: true }),
    });
  }

  /** A folder of `root` with v1 installed in slot A, and its snapshot. */
  async installed(root: string): Promise<SlotSnapshot> {
    mkdirSync(root, { recursive: true });
    const result = await this.install(root, this.bundles.v1);
    if (result.status !== 'committed') throw new Error(`the first install failed: ${result.message}`);
    return snapshot(root);
  }

  /** An OTA device (InstallAgent + OtaReceiver) on `root`, which must hold an installed slot. */
  async device(id: string, root: string): Promise<SimDevice> {
    const d = await startDevice({ url: this.broker.url, id, keys: this.keys, root, window: 1, retryMs: 300 });
    this.devices.push(d);
    return d;
  }

  /** Offers `bundle` to `device` in a job of its own; resolves with the device's result. */
  async offer(device: SimDevice, bundle: BundleInfo, blockSize = 4096): Promise<OtaResult> {
    const result = device.receiver.nextResult();
    const runner = new OtaJobRunner({
      transport: this.sender, jobId: `fault-${++this.jobs}`, bundle, devices: [device.id],
      policy: { canary: 0, wave: 1, maxFailures: 0 }, blockSize, offerKey: this.keys.signer,
    });
    const [outcome] = await Promise.all([result, runner.run()]);
    return outcome;
  }

  /** Stops the OTA devices (their files stay: a scenario unmounts or removes them). */
  async closeDevices(): Promise<void> {
    for (const d of this.devices.splice(0)) {
      await d.receiver.close().catch(() => undefined);
      await d.client.close({ force: true }).catch(() => undefined);
    }
  }

  /** Stops the devices, unmounts every tmpfs (even after a failure), stops the broker. */
  async close(): Promise<void> {
    await this.closeDevices();
    const errors: string[] = [];
    for (const m of this.mounts.splice(0)) {
      try {
        m.unmount();
      } catch (e) {
        errors.push(`${m.path}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    await this.sender.close({ force: true });
    await this.broker.close();
    rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`could not unmount: ${errors.join('; ')}`);
  }
}
