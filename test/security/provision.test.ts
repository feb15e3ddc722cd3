/**
 * `akb fleet provision` (toolkit/src/commands/fleet.ts) on the real file system with the real openssl: the
 * `$7$` password line is the one `mosquitto_passwd` writes for the same salt; ids a broker or NATS would
 * refuse are refused before anything is written; the fleet CA is made once and never overwritten; keys are
 * 0600; certificates verify against the CA with the id as common name; re-provisioning needs --force and
 * then replaces the password, key and certificate.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateMessage } from '@akb/protocol';
import { fleetCommand, provision } from '../../toolkit/src/commands/fleet.js';
import { mosquittoPasswordLine } from '../../toolkit/src/commands/fleet-credentials.js';
import { runAkbCommand } from '../cloud/support.js';
import { describeWithProgram, findProgram } from '../support/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-provision-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeWithProgram('mosquitto_passwd', 'mosquitto', "the $7$ password line against mosquitto_passwd's", () => {
  it.each(['s3cret', 'pässwörd with spaces', 'x'.repeat(100)])('computes what mosquitto_passwd writes for %j', async (password) => {
    const file = join(dir, `passwd-${password.length}`);
    await writeFile(file, '');
    const r = spawnSync(findProgram('mosquitto_passwd')!, ['-b', file, 'cam-01', password], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const theirs = (await readFile(file, 'utf8')).trim();
    const salt = Buffer.from(theirs.split('$')[3]!, 'base64');
    expect(await mosquittoPasswordLine('cam-01', password, salt)).toBe(theirs);
  });
});

describeWithProgram('openssl', 'openssl', 'akb fleet provision', () => {
  const caDir = (): string => join(dir, 'ca');
  const openssl = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });

  it.each([
    ['cam.01', /cannot be used: it has a "\." \(a NATS subject separator/],
    ['cam+01', /cannot be used: it has "\+"/],
    ['cam#01', /cannot be used: it has "#"/],
    ['site/cam', /cannot be used: it has "\/"/],
    ['cam 01', /cannot be used: it has " "/],
    ['cam:01', /cannot be used: it has ":"/],
    ['', /cannot be used: it is empty/],
    ['c'.repeat(65), /cannot be used: it has 65 characters/],
    ['akb-cloud', /is the user name of the cloud, a tool or a gateway/],
  ])('refuses %j with a clear error (exit 2) and writes nothing', async (id, message) => {
    const out = join(dir, 'refused');
    const r = await runAkbCommand(fleetCommand, ['fleet', 'provision', id, '--ca-dir', join(dir, 'refused-ca'), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(message);
    expect(existsSync(out) || existsSync(join(dir, 'refused-ca'))).toBe(false);
  });

  it('makes the CA once, keys 0600, a certificate of the id signed by it, a valid edge.json, and prints the password line', async () => {
    const out = join(dir, 'cam-01');
    const r = await runAkbCommand(fleetCommand, ['fleet', 'provision', 'cam-01', '--ca-dir', caDir(), '--out', out, '--broker', 'mqtts://broker.example:8883']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const line = (await readFile(join(out, 'mosquitto-passwd.txt'), 'utf8')).trim();
    expect(line).toMatch(/^cam-01:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(r.out).toContain(line);
    expect(r.out[0]).toMatch(/^fleet CA made in /);
    for (const f of [join(caDir(), 'ca.key'), join(out, 'cam-01.key'), join(out, 'password')]) expect((await stat(f)).mode & 0o777).toBe(0o600);
    const verify = openssl('verify', '-CAfile', join(caDir(), 'ca.crt'), join(out, 'cam-01.crt'));
    expect(verify.stdout.trim()).toBe(`${join(out, 'cam-01.crt')}: OK`);
    expect(openssl('x509', '-in', join(out, 'cam-01.crt'), '-noout', '-subject').stdout).toMatch(/CN ?= ?cam-01/);
    const config = JSON.parse(await readFile(join(out, 'edge.json'), 'utf8')) as unknown;
    expect(validateMessage('edge-config', config)).toMatchObject({
      deviceId: 'cam-01', broker: { url: 'mqtts://broker.example:8883', username: 'cam-01', password: { file: 'password' }, tls: { ca: 'ca.crt', cert: 'cam-01.crt', key: { file: 'cam-01.key' } } },
    });
    expect(await readFile(join(out, 'ca.crt'), 'utf8')).toBe(await readFile(join(caDir(), 'ca.crt'), 'utf8'));
  });

  it('uses the existing CA for the next device and refuses a CA folder missing a file', async () => {
    const before = await readFile(join(caDir(), 'ca.crt'), 'utf8');
    const made = await provision({ id: 'cam-02', caDir: caDir(), out: join(dir, 'cam-02'), broker: 'mqtts://b:8883' });
    expect(made.ca.created).toBe(false);
    expect(await readFile(join(caDir(), 'ca.crt'), 'utf8')).toBe(before);
    const half = join(dir, 'half-ca');
    await mkdir(half);
    await writeFile(join(half, 'ca.crt'), before);
    await expect(provision({ id: 'cam-03', caDir: half, out: join(dir, 'cam-03'), broker: 'mqtts://b:8883' })).rejects.toMatchObject({ code: 'CA_INCOMPLETE', exitCode: 2 });
    expect(existsSync(join(half, 'ca.key'))).toBe(false);
  });

  it('refuses to provision a device again without --force; with it, replaces the password, key and certificate', async () => {
    const out = join(dir, 'cam-01');
    const old = await Promise.all(['password', 'cam-01.key', 'cam-01.crt'].map((f) => readFile(join(out, f), 'utf8')));
    const again = await runAkbCommand(fleetCommand, ['fleet', 'provision', 'cam-01', '--ca-dir', caDir(), '--out', out]);
    expect(again.code).toBe(2);
    expect(again.err[0]).toMatch(/already holds .*pass --force/);
    expect(await Promise.all(['password', 'cam-01.key', 'cam-01.crt'].map((f) => readFile(join(out, f), 'utf8')))).toEqual(old);
    const forced = await runAkbCommand(fleetCommand, ['fleet', 'provision', 'cam-01', '--ca-dir', caDir(), '--out', out, '--force']);
    expect(forced.code, forced.err.join('\n')).toBe(0);
    const now = await Promise.all(['password', 'cam-01.key', 'cam-01.crt'].map((f) => readFile(join(out, f), 'utf8')));
    now.forEach((text, i) => expect(text).not.toBe(old[i]));
    expect((await stat(join(out, 'cam-01.key'))).mode & 0o777).toBe(0o600);
    expect(openssl('verify', '-CAfile', join(caDir(), 'ca.crt'), join(out, 'cam-01.crt')).status).toBe(0);
  });

  it("makes the broker's server certificate with its names, and a service user's credentials without edge.json", async () => {
    const broker = await provision({ id: 'broker', caDir: caDir(), out: join(dir, 'broker'), broker: 'mqtts://b:8883', serverNames: ['127.0.0.1', 'mqtt.example'] });
    expect(broker.files.password).toBeUndefined();
    expect(openssl('x509', '-in', broker.files.cert, '-noout', '-ext', 'subjectAltName').stdout).toMatch(/IP Address:127\.0\.0\.1, DNS:mqtt\.example/);
    const cloud = await provision({ id: 'akb-cloud', caDir: caDir(), out: join(dir, 'akb-cloud'), broker: 'mqtts://b:8883', service: true, reserved: ['akb-cloud'] });
    expect(cloud.files.edgeConfig).toBeUndefined();
    expect(existsSync(join(dir, 'akb-cloud', 'edge.json'))).toBe(false);
  });
});

describe('provision without openssl', () => {
  it('says to install it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(provision({ id: 'cam-09', caDir: join(dir, 'no-openssl-ca'), out: join(dir, 'cam-09'), broker: 'mqtts://b:8883' })).rejects.toMatchObject({ code: 'OPENSSL_MISSING' });
    } finally {
      process.env.PATH = path;
    }
    // The key made before openssl was called is removed with the half-made CA.
    expect(existsSync(join(dir, 'no-openssl-ca', 'ca.key'))).toBe(false);
  });
});
