/**
 * The install agent's health check: after the switch it starts the new slot's runtime as
 * `<slot>/bin/akb-edge --probe --device <id> --broker <url>` (its own process group, so the launcher's
 * node and anything it started can be killed together), and the slot is healthy when that exits 0 having
 * printed a JSON line with `ok: true` (probe.ts). The limit is generous by default (120 s): loading the
 * models under qemu or on a Pi Zero 2 W takes a while. On timeout the group gets SIGTERM, then SIGKILL
 * 2 s later. Output is hostile too: only the last 64 KiB of stdout and 4 KiB of stderr are kept.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { HealthCheck, HealthResult } from '@akb/flash';

export const DEFAULT_HEALTH_TIMEOUT_S = 120;
const MAX_STDOUT_BYTES = 64 * 1024;
const MAX_STDERR_BYTES = 4 * 1024;
const KILL_GRACE_MS = 2000;

export interface ProbeHealthOptions {
  deviceId: string;
  brokerUrl: string;
  /** Time limit of the probe, ms (default 120 s). */
  timeoutMs?: number;
  /** Environment of the probe (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Extra arguments after the probe's own (e.g. `--backends onnxruntime-web-wasm`). */
  extraArgs?: readonly string[];
}

/** The fields of the probe's JSON line the agent reports. */
export interface ProbeLine {
  ok: boolean;
  backend?: string;
  encodeMs?: number;
  symbols?: number;
  bundle?: string | null;
  slot?: string | null;
}

/** Keeps the last `max` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.max) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** The last line of `stdout` that parses as a JSON object with a boolean `ok`. */
export function probeLineOf(stdout: string): ProbeLine | undefined {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v: unknown = JSON.parse(lines[i]!);
      if (typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean') return v as ProbeLine;
    } catch {
      // not the probe's line
    }
  }
  return undefined;
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

function describe(line: ProbeLine): string {
  return `probe ok: ${line.backend ?? '?'} encoded ${line.symbols ?? '?'} symbols in ${line.encodeMs ?? '?'} ms`;
}

/**
 * The probe's environment: the agent's, less what names a slot. An agent started by the running slot's
 * launcher carries that slot's AKB_PROFILE, AKB_MODELS and AKB_SET, which the new slot's launcher would
 * otherwise keep (it only fills them in when unset) and so probe the old slot's models.
 */
export function probeEnv(env: NodeJS.ProcessEnv, slotDir: string): NodeJS.ProcessEnv {
  const { AKB_PROFILE: _p, AKB_MODELS: _m, AKB_SET: _s, ...rest } = env;
  return { ...rest, AKB_SLOT_DIR: slotDir };
}

/** Runs the slot's probe once; resolves with the verdict (never rejects). */
export function runSlotProbe(slotDir: string, o: ProbeHealthOptions): Promise<HealthResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_S * 1000;
  const launcher = join(slotDir, 'bin', 'akb-edge');
  const args = ['--probe', '--device', o.deviceId, '--broker', o.brokerUrl, ...(o.extraArgs ?? [])];
  return new Promise((resolve) => {
    const stdout = new Tail(MAX_STDOUT_BYTES);
    const stderr = new Tail(MAX_STDERR_BYTES);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(launcher, args, { cwd: slotDir, env: probeEnv(o.env ?? process.env, slotDir), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const group = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      group('SIGTERM');
      killTimer = setTimeout(() => group('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    let settled = false;
    const finish = (result: HealthResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      group('SIGKILL'); // anything the probe left behind in its group
      resolve(result);
    };
    child.once('error', (e) => finish({ ok: false, reason: `cannot start ${launcher}: ${e.message.split('\n')[0]}` }));
    child.once('close', (code, signal) => {
      if (timedOut) return finish({ ok: false, reason: `the probe did not finish within ${Math.round(timeoutMs / 1000)} s` });
      const line = probeLineOf(stdout.text());
      if (code === 0 && line?.ok === true) return finish({ ok: true, detail: describe(line) });
      const why = lastLine(stderr.text()) || lastLine(stdout.text()) || 'no output';
      const how = signal ? `was killed by ${signal}` : code === 0 ? 'exited 0 without an ok line' : `exited ${code}`;
      finish({ ok: false, reason: `the probe ${how}: ${why}` });
    });
  });
}

/** The HealthCheck an InstallAgent takes: the slot's probe. */
export function probeHealthCheck(o: ProbeHealthOptions): HealthCheck {
  return (slot) => runSlotProbe(slot.dir, o);
}
