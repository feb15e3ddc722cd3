/**
 * Runs a Node.js script in a child process and collects its output, without blocking this process (a
 * broker the test runs in process must keep answering while the child connects: never spawnSync there).
 */
import { spawn } from 'node:child_process';

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runNode(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<NodeRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
