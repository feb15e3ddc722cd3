/**
 * For the `akb telemetry` tests: simulated devices (a real device connection with birth and last will,
 * telemetry samples), the cloud's retained alarm states, and the built `akb` run as a child process, on
 * a pipe or on a real pseudo-terminal (util-linux `script`), whose output the test reads as it comes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { topics } from '@akb/protocol';
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { testBirth, uniqueId } from '../support/index.js';

export const AKB_CLI = fileURLToPath(new URL('../../toolkit/dist/cli.js', import.meta.url));

export function sample(device: string, seq: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    v: 1, device, ts: Date.now(), seq,
    latencyMs: { encode: 12, total: 41 + seq },
    action: { id: 3, ratePrefix: 512, power: 1.25 },
    snrDb: 7.5,
    quality: { psnr: 28.4, ssim: 0.912 },
    cpuPercent: 35,
    memoryRssBytes: 180 * 2 ** 20,
    temperatureC: 51,
    counters: { framesSent: seq, framesDropped: 0, framesMalformed: 0 },
    ...extra,
  });
}

export function alarmState(device: string, kinds: readonly string[]): string {
  const now = Date.now();
  return JSON.stringify({
    v: 1, device, ts: now,
    active: kinds.map((kind) => ({ kind, since: now, value: 14.2, threshold: 20, message: `${kind} for the test` })),
  });
}

export interface SimDevice {
  id: string;
  client: AkbMqttClient;
  send(seq: number, extra?: Record<string, unknown>): Promise<void>;
}

export async function simDevice(url: string, id: string): Promise<SimDevice> {
  const client = await connectDevice({ url, deviceId: id, birth: testBirth(id), reconnectPeriodMs: 0 });
  return { id, client, send: (seq, extra) => client.publish(topics.telemetry(id), sample(id, seq, extra), { qos: 1 }) };
}

/** A plain client, for what the cloud or a hostile peer publishes. */
export function otherClient(url: string): Promise<AkbMqttClient> {
  return connectMqtt({ url, clientId: uniqueId('tele-peer'), reconnectPeriodMs: 0 });
}

export interface Running {
  readonly child: ChildProcess;
  /** Everything written to stdout so far (on a pty: the terminal's bytes). */
  stdout(): string;
  stderr(): string;
  /** Resolves once `test` holds on stdout; rejects after `timeoutMs`, or when the process exits first. */
  until(test: (out: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
}

function watch(child: ChildProcess): Running {
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of waiters) w();
  };
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
    wake();
  });
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString('utf8');
    wake();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      resolve(code);
      wake();
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    until: (test, what, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (test(out)) done();
          else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`akb exited before ${what}; stderr: ${err.slice(-2000)}`));
        };
        const timer = setTimeout(() => done(new Error(`no ${what} after ${timeoutMs} ms; stdout tail: ${JSON.stringify(out.slice(-1500))}; stderr: ${err.slice(-1000)}`)), timeoutMs);
        function done(e?: Error): void {
          clearTimeout(timer);
          waiters.delete(check);
          if (e) reject(e);
          else resolve();
        }
        waiters.add(check);
        check();
      }),
  };
}

/** `akb <args>` with stdout on a pipe. */
export function runAkb(args: readonly string[]): Running {
  return runAkbWithEnv(args, {});
}

/** The same, with `env` added to this process's environment. */
export function runAkbWithEnv(args: readonly string[], env: Record<string, string>): Running {
  return watch(spawn(process.execPath, [AKB_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `akb <args>` on a pseudo-terminal of `cols` × `rows` made by `script -qfec`; Ctrl-C is sent as the
 * terminal's interrupt character through `script`'s stdin, as a person's keyboard would.
 */
export function runAkbOnPty(args: readonly string[], cols: number, rows: number): Running & { interrupt(): void; press(keys: string): void } {
  const command = `stty cols ${cols} rows ${rows}; exec ${[process.execPath, AKB_CLI, ...args].map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  return { ...watch(child), interrupt: () => child.stdin?.write('\x03'), press: (keys) => child.stdin?.write(keys) };
}

/** Parsed complete stdout lines (a line still being written is left out); throws naming the first that is not JSON. */
export function jsonLines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .slice(0, -1)
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout line is not JSON: ${JSON.stringify(l.slice(0, 200))}`);
      }
    });
}
