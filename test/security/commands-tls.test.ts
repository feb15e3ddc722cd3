/**
 * The remaining commands that connect, over TLS to a Mosquitto listener that requires a client certificate
 * signed by the fleet CA (the certificate's common name is the user): `akb demo` (the full loop, one CIFAR
 * image), `akb hil run` of a one-point plan (its broker mqtts://, its TLS files from the plan's `tls`,
 * relative to the plan; and a device target: akb-edge --ingest and `akb link emulate`, each over TLS, the run's
 * files from --ca/--cert/--key), `akb-agent install` (the status reporter and the slot's probe `akb-edge --probe`,
 * both seen on the device's status topic), `akb install` (the probe) and `akb-agent ota` taking an offer from
 * `akb deploy` (each with its own certificate). Each is also run without a client
 * certificate (the broker's refusal comes back in the output) and with a key but no certificate (one line,
 * exit 2, before anything connects). Before them, without a broker: how the install agent picks its files
 * (a flag, else AKB_TLS_*) and hands them on. Build first (npx tsc -b).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { describeWithProgram, Inbox, startMosquitto, uniqueId, type MosquittoHandle } from '../support/index.js';
import { runNode, type NodeRun } from '../support/run.js';
import { makeBundle, makeKeys, PROFILE_ID, REPO } from '../install/slot-bundle.js';
import { makePki, tlsOf, type TestPki } from './pki.js';
import { exportTlsFiles, tlsFromEnv, tlsPaths } from '../../runtime-edge/src/install/tls-env.js';

const cifar = join(REPO, 'models/samples/cifar10-test');
/** What a client without a certificate hears from a listener that requires one (TLS 1.3 alert 116, or the reset after it). */
const NO_CERT = /certificate required|alert number 116|ECONNRESET|socket hang up|closed/i;
/** The CLI's line for it (OpenSSL's trailing newline is trimmed by protocol's errorText: one line). */
const REFUSED = /^akb: cannot connect to mqtts:\/\/127\.0\.0\.1:\d+: [^\n]*(certificate required|alert number 116)/;

/** A CLI run with AKB_TLS_* removed from the environment, so only what the test passes counts. */
function node(args: string[]): Promise<NodeRun> {
  const env = { ...process.env };
  for (const name of ['AKB_TLS_CA', 'AKB_TLS_CERT', 'AKB_TLS_KEY', 'AKB_BROKER', 'AKB_DEVICE_ID', 'AKB_PROFILE']) delete env[name];
  return runNode(args, { cwd: REPO, env });
}
const akb = (args: string[]): Promise<NodeRun> => node(['toolkit/bin/akb.js', ...args]);
const agent = (args: string[]): Promise<NodeRun> => node(['runtime-edge/dist/install/main.js', ...args]);

describe("the install agent's TLS files (tls-env.ts)", () => {
  // checkPem looks for the PEM block only, so these stand for a certificate and a key here.
  const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
  let files: string;
  beforeAll(async () => {
    files = await mkdtemp(join(tmpdir(), 'akb-tls-env-'));
    await Promise.all([writeFile(join(files, 'ca.crt'), CERT), writeFile(join(files, 'me.crt'), CERT), writeFile(join(files, 'me.key'), KEY), writeFile(join(files, 'env.crt'), CERT)]);
  });
  afterAll(() => rm(files, { recursive: true, force: true }));

  it('takes each part from its flag, else its variable (an empty one unset), as absolute paths', () => {
    const env = { AKB_TLS_CA: join(files, 'env.crt'), AKB_TLS_CERT: '', AKB_TLS_KEY: 'rel.key' };
    expect(tlsPaths({ ca: join(files, 'ca.crt') }, env)).toEqual({ ca: join(files, 'ca.crt'), key: join(process.cwd(), 'rel.key') });
    expect(tlsPaths({}, {})).toEqual({});
  });

  it('checks the files, writes their paths into the environment, and reads them back for mqtts:// only', async () => {
    const env: NodeJS.ProcessEnv = { AKB_TLS_CA: join(files, 'env.crt') };
    const tls = await exportTlsFiles('mqtts://broker:8883', { cert: join(files, 'me.crt'), key: join(files, 'me.key') }, env);
    expect(tls).toEqual({ ca: CERT, cert: CERT, key: KEY });
    expect(env).toEqual({ AKB_TLS_CA: join(files, 'env.crt'), AKB_TLS_CERT: join(files, 'me.crt'), AKB_TLS_KEY: join(files, 'me.key') });
    expect(await tlsFromEnv('mqtts://broker:8883', env)).toEqual({ ca: CERT, cert: CERT, key: KEY });
    expect(await tlsFromEnv('mqtt://broker:1883', env)).toBeUndefined();
    expect(await exportTlsFiles('mqtts://broker:8883', {}, {})).toBeUndefined();
  });

  it('refuses a key without its certificate, TLS files with a plain URL and a file that is not PEM, changing nothing', async () => {
    const env: NodeJS.ProcessEnv = {};
    await expect(exportTlsFiles('mqtts://broker:8883', { key: join(files, 'me.key') }, env)).rejects.toMatchObject({ exitCode: 2, message: '--key given without --cert' });
    await expect(exportTlsFiles('mqtt://broker:1883', { ca: join(files, 'ca.crt') }, env)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/broker URL mqtt:\/\/broker:1883 is not TLS/) as unknown });
    await expect(exportTlsFiles('mqtts://broker:8883', { ca: join(files, 'me.key') }, env)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/me\.key is not a PEM certificate/) as unknown });
    expect(env).toEqual({});
  });
});

describeWithProgram('openssl', 'openssl', 'with openssl', () => describeWithProgram('mosquitto', 'mosquitto', 'akb demo, akb hil run, akb-agent and akb install over TLS with client certificates', () => {
  let pki: TestPki;
  let broker: MosquittoHandle;
  let url: string;
  let dir: string;
  let monitor: AkbMqttClient;
  /** --ca/--cert/--key of the user `ops`. */
  let opsFlags: string[];
  let d1Flags: string[];

  beforeAll(async () => {
    pki = await makePki({ devices: ['d1'], services: ['ops'] });
    broker = await startMosquitto({
      tlsListeners: [{ cafile: pki.ca, certfile: pki.broker.cert, keyfile: pki.broker.key, requireCertificate: true, useIdentityAsUsername: true }],
    });
    url = broker.tlsUrls[0]!;
    dir = await mkdtemp(join(tmpdir(), 'akb-commands-tls-'));
    const ops = pki.users.ops!.files;
    const d1 = pki.users.d1!.files;
    opsFlags = ['--ca', pki.ca, '--cert', ops.cert, '--key', ops.key];
    d1Flags = ['--ca', pki.ca, '--cert', d1.cert, '--key', d1.key];
    monitor = await connectMqtt({ url, clientId: uniqueId('monitor'), tls: await tlsOf(pki, 'ops') });
  }, 60_000);
  afterAll(async () => {
    await monitor?.close({ force: true });
    await broker?.close();
    await pki?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('akb demo: the full loop over mqtts:// with --ca/--cert/--key; no client certificate, a key alone, TLS without --broker refused', async () => {
    const samples = join(dir, 'samples');
    await mkdir(join(samples, 'cifar10-test'), { recursive: true });
    const name = (await readdir(cifar)).filter((f) => f.endsWith('.jpg')).sort()[0]!;
    await copyFile(join(cifar, name), join(samples, 'cifar10-test', name));
    const report = join(dir, 'demo.html');
    const run = await akb(['demo', '--broker', url, ...opsFlags, '--samples', samples, '--kodak', '0', '--report', report, '--policy', 'fixed:0']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`broker ${url.replace(/[.]/g, '\\.')}\\b`));
    expect(run.stdout).toMatch(/^done: 1 images in [\d.]+ s, mean PSNR \d+\.\d+ dB/m);

    const noCert = await akb(['demo', 'frames', '--broker', url, '--ca', pki.ca, '--frames', '1']);
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toMatch(REFUSED);

    const keyOnly = await akb(['demo', '--broker', url, '--key', pki.users.ops!.files.key]);
    expect(keyOnly.code).toBe(2);
    expect(keyOnly.stderr.trim()).toMatch(/^akb: --key given without --cert/);

    const embedded = await akb(['demo', 'frames', ...opsFlags]);
    expect(embedded.code).toBe(2);
    expect(embedded.stderr.trim()).toMatch(/^akb: --ca, --cert, --key given without --broker: the embedded broker takes no TLS/);
  }, 60_000);

  it('akb hil run: a plan whose broker is mqtts:// with tls relative to it; refused without a client certificate or with a key alone', async () => {
    const hil = join(dir, 'hil');
    await mkdir(hil);
    const ops = pki.users.ops!.files;
    const plan = (tls: string): string => `name: tls
broker: ${url}
${tls}channels:
  - kind: awgn
snrDb: [15]
images:
  folder: ${cifar}
  limit: 1
variants:
  - id: akb
    set: akb-k256
    policy: fixed:7
report:
  folder: out
  images: 0
thresholds:
  - {variant: akb, snrDb: 15, metric: psnr, op: '>=', value: 15}
`;
    const rel = (p: string): string => relative(hil, p);
    await writeFile(join(hil, 'plan.yaml'), plan(`tls:\n  ca: ${rel(pki.ca)}\n  cert: ${rel(ops.cert)}\n  key: ${rel(ops.key)}\n`));
    const run = await akb(['hil', 'run', join(hil, 'plan.yaml'), '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^pass {2}/m);
    expect(run.stdout).toMatch(/akb hil: 1 points in/);

    // A flag wins over the plan's entry: another CA, which the broker's certificate does not chain to.
    const otherCa = await akb(['hil', 'run', join(hil, 'plan.yaml'), '--no-progress', '--ca', pki.stranger.ca]);
    expect(otherCa.code).not.toBe(0);
    expect(otherCa.stderr).toMatch(/^akb: cannot connect to mqtts:\/\/127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify|unable to get)/i);

    await writeFile(join(hil, 'bare.yaml'), plan(''));
    const noCert = await akb(['hil', 'run', join(hil, 'bare.yaml'), '--no-progress', '--ca', pki.ca]);
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toMatch(REFUSED);

    const keyOnly = await akb(['hil', 'run', join(hil, 'bare.yaml'), '--no-progress', '--key', ops.key]);
    expect(keyOnly.code).toBe(2);
    expect(keyOnly.stderr.trim()).toMatch(/^akb: --key given without --cert/);
  }, 60_000);

  /** Starts a daemon (node `args`) and resolves once its output matches `ready`; `stop` ends it by its handle. */
  async function daemon(args: string[], ready: RegExp): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
    const env = { ...process.env };
    for (const name of ['AKB_TLS_CA', 'AKB_TLS_CERT', 'AKB_TLS_KEY', 'AKB_BROKER', 'AKB_DEVICE_ID', 'AKB_PROFILE']) delete env[name];
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${args[0]} not ready in 30 s: ${out}`)), 30_000);
        child.stdout?.on('data', (b: Buffer) => {
          out += b.toString();
          if (ready.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
        child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
      });
    } catch (e) {
      await stop();
      throw e;
    }
    return { child, output: () => out, stop };
  }

  it('akb hil run: a device target (akb-edge --ingest) through akb link emulate, every piece over TLS', async () => {
    const emulator = await daemon(['toolkit/bin/akb.js', 'link', 'emulate', '--broker', url, ...opsFlags, '--snr', '10', '--keep-order'], /Ctrl-C stops/);
    try {
      const edge = await daemon(
        ['runtime-edge/dist/main.js', '--broker', url, ...d1Flags, '--device', 'd1', '--models', 'models/zoo', '--set', 'akb-k256', '--policy', 'fixed:7', '--epsilon', '0', '--ingest', '--link', 'mqtt'],
        /online at mqtts:/,
      );
      try {
        const hil = join(dir, 'hil-device');
        await mkdir(hil);
        await writeFile(join(hil, 'plan.yaml'), `name: tls device
broker: ${url}
targets: [{device: d1, pingTimeoutMs: 5000}]
channels:
  - kind: awgn
snrDb: [15]
images:
  folder: ${cifar}
  limit: 1
variants:
  - {id: akb, set: akb-k256, policy: fixed:7}
report:
  folder: out
  images: 0
`);
        const run = await akb(['hil', 'run', join(hil, 'plan.yaml'), '--no-progress', ...opsFlags]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toMatch(/complete 100%/);
        expect(emulator.output()).toMatch(/SNR of d1 set to 15 dB by akb-hil-\d+/);
      } finally {
        await edge.stop();
      }
    } finally {
      await emulator.stop();
    }
  }, 60_000);

  it('akb-agent install and akb install: status reports and the probe over mqtts://; refused without a client certificate or with a key alone', async () => {
    const keys = await makeKeys(dir, 'release');
    const bundle = join(dir, 'v1.akb');
    await makeBundle(bundle, { version: '1.0.0', keys });
    const statuses = await Inbox.open(monitor, topics.status('d1'));
    try {
      const common = ['--trust', keys.pub, '--broker', url, '--device', 'd1', '--profile', PROFILE_ID];
      const run = await agent(['install', bundle, '--root', join(dir, 'board'), ...common, ...d1Flags]);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).not.toMatch(/no status reports/);
      const seen = statuses.messages.map((m) => decodeMessage('status', m.payload));
      expect(seen.flatMap((s) => (s.state === 'updating' ? [s.phase] : []))).toEqual(expect.arrayContaining(['verifying', 'health-check', 'committed']));
      expect(seen.find((s) => s.state === 'online')).toMatchObject({ versions: expect.objectContaining({ bundle: '1.0.0', slot: 'A' }) as unknown });

      // Without a certificate the reporter says what the broker answered, and the probe fails: rolled back.
      const noCert = await agent(['boot', '--root', join(dir, 'board'), '--trust', keys.pub, '--broker', url, '--device', 'd1', '--profile', PROFILE_ID, '--ca', pki.ca]);
      expect(noCert.stdout).toMatch(new RegExp(`akb-agent: no status reports \\((.*)\\)`));
      expect(/no status reports \((.*)\)/.exec(noCert.stdout)?.[1]).toMatch(NO_CERT);

      const keyOnly = await agent(['install', bundle, '--root', join(dir, 'board'), ...common, '--key', pki.users.d1!.files.key]);
      expect(keyOnly.code).toBe(2);
      expect(keyOnly.stderr.trim()).toMatch(/^akb-agent: --key given without --cert/);

      const host = await akb(['install', bundle, '--root', join(dir, 'host'), ...common, ...d1Flags]);
      expect(host.code, `${host.stdout}\n${host.stderr}`).toBe(0);
      expect(host.stdout).toMatch(/installed .* into slot A/);
      expect(host.stdout).not.toMatch(/no status reports/);
      // Without a certificate: the probe cannot connect, so the new slot is not kept.
      const hostNoCert = await akb(['install', bundle, '--root', join(dir, 'host2'), ...common, '--ca', pki.ca, '--health-timeout', '30']);
      expect(hostNoCert.code).toBe(4);
      expect(/no status reports \(([^)]*)/.exec(hostNoCert.stdout)?.[1]).toMatch(NO_CERT);
      // The probe's reason (the last line of its stderr) is the broker's refusal: errorText keeps it on one line.
      expect(hostNoCert.stderr).toMatch(/^akb: health check of slot A failed: the probe exited 1[^\n]*(certificate required|alert number 116|ECONNRESET|socket hang up|closed)/i);
      const hostKeyOnly = await akb(['install', bundle, '--root', join(dir, 'host'), ...common, '--key', pki.users.d1!.files.key]);
      expect(hostKeyOnly.code).toBe(2);
      expect(hostKeyOnly.stderr.trim()).toMatch(/^akb: --key given without --cert/);
    } finally {
      statuses.close();
    }
  }, 90_000);

  it('akb-agent ota takes an offer from akb deploy, both over mqtts:// with their own certificates', async () => {
    const keys = await makeKeys(dir, 'ota');
    const [v1, v2] = [join(dir, 'ota-1.akb'), join(dir, 'ota-2.akb')];
    await makeBundle(v1, { version: '1.0.0', keys });
    await makeBundle(v2, { version: '1.1.0', keys });
    const board = join(dir, 'ota-board');
    const common = ['--root', board, '--trust', keys.pub, '--broker', url, '--device', 'd1', '--profile', PROFILE_ID];
    const installed = await agent(['install', v1, ...common, ...d1Flags]);
    expect(installed.code, `${installed.stdout}\n${installed.stderr}`).toBe(0);
    const receiving = agent(['ota', '--once', ...common, ...d1Flags]);
    await new Promise((r) => setTimeout(r, 1500)); // its subscription is in place before the offer
    const sent = await akb(['deploy', v2, '--broker', url, '--devices', 'd1', '--job', 'ota-tls', '--fleet-key', keys.key, ...opsFlags]);
    const got = await receiving;
    expect(sent.code, `${sent.stdout}\n${sent.stderr}`).toBe(0);
    expect(sent.stdout).toMatch(/d1: installed/);
    expect(got.code, `${got.stdout}\n${got.stderr}`).toBe(0);
    // Without a client certificate the agent's offer connection is refused by the broker, in one line.
    const refused = await agent(['ota', '--once', ...common, '--ca', pki.ca]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(NO_CERT);
  }, 120_000);
}));
