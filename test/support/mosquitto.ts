/**
 * A private Mosquitto on a free loopback port: `mosquitto -c <its own config>` in a temporary folder,
 * never the system broker. Anonymous clients are allowed unless told otherwise; `passwords` makes a
 * password file with `mosquitto_passwd -U`, `acl` is written as the ACL file verbatim, e.g.
 *
 *   user admin
 *   topic readwrite #
 *   pattern write akb/v1/dev/%u/status
 *
 * `tlsListeners` adds TLS listeners, each on a free port of its own (their mqtts:// URLs are `tlsUrls`, in
 * order), with the broker's certificate and key, the CA that client certificates must chain to, and
 * optionally `require_certificate` and `use_identity_as_username` (the certificate's common name is the
 * user the ACL's %u sees).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { BrokerHandle } from './broker-handle.js';
import { freePort, waitForPort } from './ports.js';
import { findProgram, missingMessage } from './programs.js';

export interface MosquittoOptions {
  /** Default true. */
  allowAnonymous?: boolean;
  /** user → password; written with `mosquitto_passwd -U`. */
  passwords?: Record<string, string>;
  /** The text of an ACL file. */
  acl?: string;
  /** Keep retained messages and sessions across `restart()`. */
  persistence?: boolean;
  /** Extra configuration lines. */
  extraConfig?: string;
  /** Log every packet (noisy; for debugging a test). */
  verbose?: boolean;
  startTimeoutMs?: number;
  /** TLS listeners after the plain one, each on a free port. */
  tlsListeners?: readonly MosquittoTlsListener[];
}

export interface MosquittoTlsListener {
  /** CA certificate (PEM file) client certificates must chain to. */
  cafile: string;
  /** The broker's certificate and key (PEM files). */
  certfile: string;
  keyfile: string;
  /** Refuse clients without a certificate signed by the CA (default false). */
  requireCertificate?: boolean;
  /** Take the certificate's common name as the user name (default false). */
  useIdentityAsUsername?: boolean;
}

export interface MosquittoHandle extends BrokerHandle {
  kind: 'mosquitto';
  /** The folder holding the config, password, ACL and persistence files. */
  dir: string;
  /** `mqtts://127.0.0.1:<port>` of each TLS listener, in the order given. */
  tlsUrls: string[];
  /** The running broker's process id (undefined while it is stopped). */
  pid(): number | undefined;
  /**
   * As BrokerHandle's, and `signal` stops it: SIGTERM (the default; Mosquitto saves its persistence file
   * on the way out) or SIGKILL (it saves nothing: what the last autosave did not write is gone).
   */
  restart(options?: { downMs?: number; signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
}

const LOG_LINES = 400;

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const program = findProgram('mosquitto');
  if (program === undefined) throw new Error(missingMessage('mosquitto', 'mosquitto'));
  const dir = await mkdtemp(join(tmpdir(), 'akb-mosquitto-'));
  try {
    const log: string[] = [];
    const extras = await writeSecurityFiles(dir, opts);
    // A free port may be taken between the probe and mosquitto's bind: try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const tlsPorts: number[] = [];
      for (let i = 0; i < (opts.tlsListeners?.length ?? 0); i++) tlsPorts.push(await freePort());
      const conf = join(dir, 'mosquitto.conf');
      await writeFile(conf, config(port, dir, opts, [...extras, ...tlsLines(opts.tlsListeners ?? [], tlsPorts)]));
      try {
        const child = await launch(program, conf, port, log, opts.startTimeoutMs ?? 10_000);
        for (const p of tlsPorts) await waitForPort(p, { timeoutMs: opts.startTimeoutMs ?? 10_000 });
        return handle(program, conf, port, dir, log, child, opts.startTimeoutMs ?? 10_000, tlsPorts);
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function writeSecurityFiles(dir: string, opts: MosquittoOptions): Promise<string[]> {
  const lines: string[] = [];
  if (opts.passwords !== undefined) {
    const file = join(dir, 'passwords');
    const plain = Object.entries(opts.passwords).map(([u, p]) => `${u}:${p}\n`).join('');
    await writeFile(file, plain, { mode: 0o600 });
    const passwd = findProgram('mosquitto_passwd');
    if (passwd === undefined) throw new Error(missingMessage('mosquitto_passwd', 'mosquitto'));
    const r = spawnSync(passwd, ['-U', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd -U failed: ${r.stderr || r.stdout}`);
    lines.push(`password_file ${file}`);
  }
  if (opts.acl !== undefined) {
    const file = join(dir, 'acl');
    await writeFile(file, opts.acl.endsWith('\n') ? opts.acl : `${opts.acl}\n`, { mode: 0o600 });
    lines.push(`acl_file ${file}`);
  }
  return lines;
}

function tlsLines(listeners: readonly MosquittoTlsListener[], ports: number[]): string[] {
  return listeners.flatMap((l, i) => [
    `listener ${ports[i]} 127.0.0.1`,
    `cafile ${l.cafile}`,
    `certfile ${l.certfile}`,
    `keyfile ${l.keyfile}`,
    `require_certificate ${l.requireCertificate ?? false}`,
    `use_identity_as_username ${l.useIdentityAsUsername ?? false}`,
  ]);
}

function config(port: number, dir: string, opts: MosquittoOptions, extras: string[]): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${opts.allowAnonymous ?? true}`,
    // Started as root, mosquitto would drop to user "mosquitto", who cannot read our temporary files.
    `user ${userInfo().username}`,
    // Without it, QoS 1 request/response round trips wait on delayed ACKs (~40 ms a hop on loopback).
    'set_tcp_nodelay true',
    'log_dest stderr',
    ...(opts.verbose === true ? ['log_type all'] : ['log_type error', 'log_type warning', 'log_type notice', 'log_type information']),
    'connection_messages true',
    ...(opts.persistence === true ? ['persistence true', `persistence_location ${dir}/`, 'autosave_interval 1'] : ['persistence false']),
    ...extras,
    ...(opts.extraConfig !== undefined ? [opts.extraConfig] : []),
  ];
  return `${lines.join('\n')}\n`;
}

async function launch(program: string, conf: string, port: number, log: string[], timeoutMs: number): Promise<ChildProcess> {
  const child = spawn(program, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const capture = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      log.push(line);
      if (log.length > LOG_LINES) log.shift();
    }
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `mosquitto exited (${signal ?? `code ${code}`}) before accepting connections:\n${log.join('\n')}`;
  });
  child.once('error', (e) => {
    exited = `cannot run ${program}: ${e.message}`;
  });
  try {
    await waitForPort(port, { timeoutMs, gaveUp: () => exited });
  } catch (e) {
    await kill(child);
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- mosquitto log ---\n${log.join('\n')}`);
  }
  return child;
}

async function kill(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

function handle(
  program: string,
  conf: string,
  port: number,
  dir: string,
  log: string[],
  first: ChildProcess,
  timeoutMs: number,
  tlsPorts: number[] = [],
): MosquittoHandle {
  let child: ChildProcess | undefined = first;
  // If the test process dies without closing us, take the broker down with it.
  const onExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', onExit);
  let closed = false;
  return {
    kind: 'mosquitto',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    tlsUrls: tlsPorts.map((p) => `mqtts://127.0.0.1:${p}`),
    dir,
    log: () => log.join('\n'),
    async close() {
      if (closed) return;
      closed = true;
      process.off('exit', onExit);
      if (child) await kill(child);
      child = undefined;
      await rm(dir, { recursive: true, force: true });
    },
    pid: () => child?.pid,
    async restart(options: { downMs?: number; signal?: 'SIGTERM' | 'SIGKILL' } = {}) {
      if (closed) throw new Error('mosquitto fixture is closed');
      if (child) await kill(child, options.signal);
      child = undefined;
      log.push('--- restart ---');
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      child = await launch(program, conf, port, log, timeoutMs);
      for (const p of tlsPorts) await waitForPort(p, { timeoutMs });
    },
  };
}
