/**
 * The daemons as users run them, over TLS to a Mosquitto that enforces the direction-split ACL: the built
 * `akb-cloud` with `--ca/--cert/--key` (logged in by its certificate as akb-cloud), `akb-edge` d1 with
 * `--ca/--cert/--key` on the certificate listener, and `akb-edge` d2 from the `edge.json` that
 * `akb fleet provision` wrote (password and broker.tls by reference) on the password listener. Each edge
 * sends a CIFAR-10 image through its in-process channel; the cloud decodes it (its image line on stdout) and
 * its feedback reaches the edge (the edge's telemetry counts it, read by the tool user). Build first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeMessage, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { mosquittoAcl } from '../../toolkit/src/commands/topics.js';
import { describeWithProgram, Inbox, startMosquitto, uniqueId, type MosquittoHandle } from '../support/index.js';
import { makePki, tlsOf, type TestPki } from './pki.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const samples = join(root, 'models/samples/cifar10-test');

interface Daemon { child: ChildProcess; output: () => string; exit: Promise<number | string | null> }

function daemon(path: string, args: string[]): Daemon {
  const env = { ...process.env };
  for (const name of ['AKB_DEVICE_ID', 'AKB_BROKER', 'AKB_MODELS', 'AKB_PROFILE', 'AKB_TLS_CA', 'AKB_TLS_CERT', 'AKB_TLS_KEY']) delete env[name];
  const child = spawn(process.execPath, [join(root, path), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  child.stdout?.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (text += b.toString()));
  const exit = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, output: () => text, exit };
}

/** Resolves once `test()` holds, polling every 100 ms; rejects with `what` and the output after `timeoutMs`. */
async function until(test: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The credentials are made by akb fleet provision, which runs openssl.
describeWithProgram('openssl', 'openssl', 'with openssl', () => describeWithProgram('mosquitto', 'mosquitto', 'akb-edge and akb-cloud over TLS with the direction-split ACL', () => {
  let pki: TestPki;
  let broker: MosquittoHandle;
  let certUrl: string;
  let passwordUrl: string;
  let cloud: Daemon;
  let tool: AkbMqttClient;
  let images: string;

  beforeAll(async () => {
    pki = await makePki({ devices: ['d1', 'd2'], services: ['akb-cloud', 'ops'] });
    const acl = (await mosquittoAcl({ cloudUser: 'akb-cloud', tools: ['ops'] })).join('\n');
    const listener = { cafile: pki.ca, certfile: pki.broker.cert, keyfile: pki.broker.key };
    broker = await startMosquitto({
      allowAnonymous: false,
      acl,
      extraConfig: `password_file ${pki.passwordFile}`,
      tlsListeners: [{ ...listener, requireCertificate: true, useIdentityAsUsername: true }, listener],
    });
    [certUrl, passwordUrl] = broker.tlsUrls as [string, string];
    images = join(pki.dir, 'images');
    await mkdir(images);
    const name = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort()[0]!;
    await copyFile(join(samples, name), join(images, name));
    const c = pki.users['akb-cloud']!.files;
    cloud = daemon('runtime-cloud/dist/main.js', ['--broker', certUrl, '--ca', pki.ca, '--cert', c.cert, '--key', c.key, '--client-id', 'akb-cloud', '--models', 'models/zoo', '--set', 'akb-k256', '--db', 'memory:']);
    await until(() => /decoding akb-k256/.test(cloud.output()), () => cloud.output().slice(-2000), 30_000);
    tool = await connectMqtt({ url: certUrl, clientId: uniqueId('ops'), tls: await tlsOf(pki, 'ops') });
  }, 60_000);
  afterAll(async () => {
    cloud?.child.kill('SIGTERM');
    expect(await cloud?.exit, cloud?.output().slice(-2000)).toBe(0);
    await tool?.close({ force: true });
    await broker?.close();
    await pki?.close();
  });

  /** Runs an edge until the cloud has decoded its image and the edge's telemetry counts the cloud's feedback. */
  async function roundTrip(device: string, args: string[]): Promise<void> {
    const telemetry = await Inbox.open(tool, topics.telemetry(device));
    const edge = daemon('runtime-edge/dist/main.js', [...args, '--models', 'models/zoo', '--set', 'akb-k256', '--images', images, '--telemetry-ms', '200']);
    try {
      await expect.poll(() => cloud.output(), { timeout: 60_000 }).toMatch(new RegExp(`image ${device} session \\d+ #0 \\S+ 32x32: tiles 1, received 1, lost 0, .*\\(complete\\)`));
      await expect
        .poll(() => telemetry.messages.some((m) => (decodeMessage('telemetry', m.payload).counters?.feedbackReceived ?? 0) > 0), { timeout: 30_000 })
        .toBe(true);
      expect(edge.output()).toMatch(new RegExp(`akb-edge: ${device} online at mqtts://`));
    } finally {
      telemetry.close();
      edge.child.kill('SIGTERM');
      expect(await edge.exit, edge.output().slice(-2000)).toBe(0);
    }
  }

  it('round-trips an image from akb-edge --ca/--cert/--key (certificate login)', async () => {
    const d1 = pki.users.d1!.files;
    await roundTrip('d1', ['--device', 'd1', '--broker', certUrl, '--ca', pki.ca, '--cert', d1.cert, '--key', d1.key, '--link', 'emulated']);
  }, 120_000);

  it('round-trips an image from akb-edge --config <the edge.json akb fleet provision wrote> (password login over TLS)', async () => {
    await roundTrip('d2', ['--config', pki.users.d2!.files.edgeConfig!, '--broker', passwordUrl]);
  }, 120_000);

  it('refuses, in one line, TLS files that are not PEM and a key without its certificate', async () => {
    const notPem = daemon('runtime-edge/dist/main.js', ['--device', 'd1', '--broker', certUrl, '--ca', pki.passwordFile]);
    expect(await notPem.exit).toBe(2);
    expect(notPem.output().trim().split('\n').at(-1)).toMatch(/^akb-edge: the CA certificate .*passwords is not a PEM certificate/);
    const keyOnly = daemon('runtime-cloud/dist/main.js', ['--broker', certUrl, '--key', pki.users['akb-cloud']!.files.key]);
    expect(await keyOnly.exit).toBe(2);
    expect(keyOnly.output().trim()).toMatch(/^akb-cloud: --key given without --cert/);
  });
}));
