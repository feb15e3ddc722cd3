/**
 * Helpers for the tests that run `akb-cloud` as users do: the built program in a child process (or, with
 * AKB_CLOUD_BIN, another build of it: a `.ts` entry runs under tsx, so an older checkout's sources can be
 * tried against the same tests), its output lines, its memory, and a TCP proxy in front of a broker that
 * can go silent (a broker that is still connected but answers nothing: every acknowledgement the client
 * waits for never comes) or go away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import type { AkbCommand, CliContext } from '../../toolkit/src/commands/define.js';

export const CLOUD_BIN = process.env.AKB_CLOUD_BIN ?? fileURLToPath(new URL('../../runtime-cloud/dist/main.js', import.meta.url));

export interface CloudProcess {
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: string[];
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** Resolves with the first stdout line matching `re` (from the start), or rejects after `timeoutMs`. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the combined output matches `re`. */
  saw(re: RegExp, timeoutMs?: number): Promise<void>;
  /** The exit: code, signal and milliseconds since `since` (set by `mark`). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resident memory (VmRSS) in bytes, Linux only; undefined elsewhere. */
  rssBytes(): number | undefined;
  /** SIGKILL if still running. */
  kill(): Promise<void>;
}

export function spawnCloud(args: readonly string[]): CloudProcess {
  const node = CLOUD_BIN.endsWith('.ts') ? ['--import', 'tsx', CLOUD_BIN] : [CLOUD_BIN];
  const child = spawn(process.execPath, [...node, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AKB_LOG_LEVEL: 'warn' } });
  const lines: string[] = [];
  let out = '';
  let all = '';
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', (b: Buffer) => {
    const text = b.toString('utf8');
    all += text;
    out += text;
    const parts = out.split('\n');
    out = parts.pop()!;
    lines.push(...parts);
    wake();
  });
  child.stderr.on('data', (b: Buffer) => {
    all += b.toString('utf8');
    wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal, at: Date.now() });
      wake();
    }),
  );
  const until = async (test: () => boolean, what: string, timeoutMs: number): Promise<void> => {
    const end = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > end) throw new Error(`akb-cloud: no ${what} after ${timeoutMs} ms; output:\n${all.slice(-4000)}`);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`akb-cloud exited (${child.exitCode ?? child.signalCode}) before ${what}; output:\n${all.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return {
    child,
    lines,
    output: () => all,
    async line(re, timeoutMs = 20_000) {
      await until(() => lines.some((l) => re.test(l)), `line matching ${re}`, timeoutMs);
      return lines.find((l) => re.test(l))!;
    },
    saw: (re, timeoutMs = 20_000) => until(() => re.test(all), `output matching ${re}`, timeoutMs),
    exited,
    rssBytes() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** A TCP proxy to `target` that can turn silent (drops every byte both ways, connections kept) or close. */
export class SilentableProxy {
  private silent = false;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<SilentableProxy> {
    const box: { proxy?: SilentableProxy } = {};
    const server = createServer((client) => {
      const proxy = box.proxy!;
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('error', () => undefined);
        s.once('close', () => {
          proxy.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (b) => (proxy.silent ? undefined : upstream.write(b)));
      upstream.on('data', (b) => (proxy.silent ? undefined : client.write(b)));
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    box.proxy = new SilentableProxy(server, port);
    return box.proxy;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** From now on nothing passes; connections stay open. */
  silence(): void {
    this.silent = true;
  }

  /** Closes every connection and stops listening: the broker is gone. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Runs one `akb` command module in this process, as cli.ts wires it: its output lines and exit code. */
export async function runAkbCommand(command: AkbCommand, argv: readonly string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, exitCode: 0 };
  await yargs([...argv])
    .strict()
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .command(command(ctx))
    .parseAsync();
  return { code: ctx.exitCode, out, err };
}
