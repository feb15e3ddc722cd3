/**
 * A child process of a benchmark: its output kept (the last 500 KB to 1 MB), a wait for a line of it,
 * and a stop that sends SIGTERM, then SIGKILL after 10 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Child {
  child: ChildProcess;
  output: () => string;
  /** The first stdout or stderr match of `re`. */
  wait: (re: RegExp, timeoutMs: number, what: string) => Promise<RegExpExecArray>;
}

/** Starts `cmd`; `onLine` sees every complete stdout line (the kept output is only the last part). */
export function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, onLine?: (line: string) => void): Child {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  let partial = '';
  const append = (b: Buffer): void => {
    text += b.toString('utf8');
    if (text.length > 1_000_000) text = text.slice(-500_000);
  };
  child.stdout.on('data', (b: Buffer) => {
    append(b);
    if (onLine === undefined) return;
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  child.stderr.on('data', append);
  const wait = async (re: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(text);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode}) first:\n${text.slice(-3000)}`);
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms:\n${text.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, output: () => text, wait };
}

export async function stopChild(c: Child | undefined): Promise<number | null> {
  if (c === undefined || c.child.exitCode !== null) return c?.child.exitCode ?? null;
  const exited = new Promise<number | null>((r) => c.child.once('exit', (code) => r(code)));
  c.child.kill('SIGTERM');
  const t = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(t);
  return code;
}
