/**
 * akb-edge's settings from flags, environment and the --config file: precedence flag > environment > file
 * > default; the link section, the shorthands and their overrides; the password by reference; a bad file
 * refused with the field named (exit 2); TLS files from flags, environment or the file's broker.tls, each
 * checked to be PEM, with the file named when it is not.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEdgeConfig } from './config-file.js';
import { edgeSettings, linkDriverName } from './settings.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-edge-settings-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const serial = { driver: 'serial', path: 'tty-modem', modem: { kind: 'rn2483', sf: 12 } };

describe('edge settings', () => {
  it('take the file when nothing else is given, resolving its relative paths against its folder', async () => {
    await writeFile(join(dir, 'secret'), 'hunter2\n');
    const loaded = await readEdgeConfig(
      await file('a.json', { deviceId: 'field-07', broker: { url: 'mqtt://10.0.0.2:1883', protocolVersion: 5, password: { file: 'secret' } }, link: serial, telemetry: { intervalMs: 5000 }, paths: { models: 'zoo' } }),
    );
    const s = await edgeSettings({}, loaded, {});
    expect(s).toMatchObject({ device: 'field-07', broker: 'mqtt://10.0.0.2:1883', protocolVersion: 5, username: 'field-07', password: 'hunter2', telemetryMs: 5000, seed: 1, models: join(dir, 'zoo') });
    expect(s.link).toMatchObject({ driver: 'serial', path: join(dir, 'tty-modem'), modem: { kind: 'rn2483', sf: 12, bwKhz: 125, cr: 1 }, tileBudgetMs: 1000 });
    expect(linkDriverName(s.link)).toBe('serial');
  });

  it('let flags given override the environment, and the environment override the file', async () => {
    const loaded = await readEdgeConfig(await file('b.json', { deviceId: 'from-file', broker: { url: 'mqtt://file:1883' }, link: { driver: 'emulated', snrDb: 3, seed: 9 } }));
    const env = { AKB_DEVICE_ID: 'from-env', AKB_BROKER: 'mqtt://env:1883' };
    expect(await edgeSettings({}, loaded, env)).toMatchObject({ device: 'from-env', broker: 'mqtt://env:1883', link: { snrDb: 3, seed: 9 }, seed: 9, models: undefined });
    const flags = { device: 'from-flag', broker: 'mqtt://flag:1883', snrDb: 20, mqtt5: false, telemetryMs: 0 };
    expect(await edgeSettings(flags, loaded, env)).toMatchObject({ device: 'from-flag', broker: 'mqtt://flag:1883', protocolVersion: 4, telemetryMs: 0, link: { driver: 'emulated', snrDb: 20, seed: 9 } });
    expect((await edgeSettings({ link: 'mqtt' }, loaded, env)).link).toEqual({ driver: 'mqtt', mtu: 1024 });
  });

  it('without a file: mqtt, the built-in broker, no device; --link serial needs the file', async () => {
    expect(await edgeSettings({}, undefined, {})).toMatchObject({ device: undefined, broker: 'mqtt://127.0.0.1:1883', link: { driver: 'mqtt' }, telemetryMs: 1000 });
    await expect(edgeSettings({ link: 'serial' }, undefined, {})).rejects.toMatchObject({ code: 'BAD_OPTION', exitCode: 2 });
  });

  it.each([
    ['an unknown field', { deviceId: 'x', colour: 'red' }, 'Unrecognized key: "colour"'],
    ['sf 13', { deviceId: 'x', link: { ...serial, modem: { kind: 'rn2483', sf: 13 } } }, 'at link.modem.sf'],
    ['text that is not JSON', '{"deviceId": ', 'is not JSON'],
  ])('refuse %s with the field named, exit 2', async (_, value, message) => {
    const path = await file('bad.json', value);
    await expect(readEdgeConfig(path)).rejects.toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2, message: expect.stringContaining(message) as unknown as string });
  });

  it('apply broker.tls, clientId, keepalive and reconnect period; TLS parts flag > environment > file', async () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const key = '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n';
    await writeFile(join(dir, 'ca.crt'), cert.replace('MIIB', 'CAAA'));
    await writeFile(join(dir, 'dev.crt'), cert);
    await writeFile(join(dir, 'dev.key'), key);
    await writeFile(join(dir, 'other.crt'), cert.replace('MIIB', 'OTHR'));
    const broker = { url: 'mqtts://b:8883', clientId: 'c-7', keepaliveSeconds: 12, reconnectPeriodMs: 250, tls: { ca: 'ca.crt', cert: 'dev.crt', key: { file: 'dev.key' } } };
    const loaded = await readEdgeConfig(await file('tls.json', { deviceId: 'x', broker }));
    const s = await edgeSettings({}, loaded, {});
    expect(s).toMatchObject({ clientId: 'c-7', keepaliveSeconds: 12, reconnectPeriodMs: 250, tls: { ca: cert.replace('MIIB', 'CAAA'), cert, key, rejectUnauthorized: true } });
    expect((await edgeSettings({ cert: join(dir, 'other.crt') }, loaded, { AKB_TLS_CERT: join(dir, 'dev.crt') })).tls?.cert).toContain('OTHR');
    expect((await edgeSettings({}, loaded, { AKB_TLS_CA: join(dir, 'other.crt') })).tls?.ca).toContain('OTHR');
    const inEnv = await readEdgeConfig(await file('tls-env.json', { deviceId: 'x', broker: { ...broker, tls: { cert: 'dev.crt', key: { env: 'DEV_KEY' } } } }));
    expect((await edgeSettings({}, inEnv, { DEV_KEY: key })).tls).toEqual({ cert, key, rejectUnauthorized: true });
    await expect(edgeSettings({}, inEnv, { DEV_KEY: 'not a key' })).rejects.toMatchObject({ code: 'TLS_FILE', message: expect.stringContaining('DEV_KEY') as unknown as string });
  });

  it('refuse TLS files that are not PEM, a certificate without its key, and TLS with a plain URL, naming what is wrong', async () => {
    await writeFile(join(dir, 'junk.crt'), 'hello');
    await writeFile(join(dir, 'k.key'), '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n');
    const tlsUrl = { broker: 'mqtts://b:8883' };
    await expect(edgeSettings({ ...tlsUrl, ca: join(dir, 'junk.crt') }, undefined, {})).rejects.toMatchObject({ code: 'TLS_FILE', exitCode: 2, message: expect.stringContaining('junk.crt is not a PEM certificate') as unknown as string });
    await expect(edgeSettings({ ...tlsUrl, ca: join(dir, 'absent.crt') }, undefined, {})).rejects.toMatchObject({ code: 'TLS_FILE', message: expect.stringContaining('absent.crt (ENOENT)') as unknown as string });
    await expect(edgeSettings({ ...tlsUrl, key: join(dir, 'k.key') }, undefined, {})).rejects.toMatchObject({ code: 'TLS_FILE', message: expect.stringContaining('without a client certificate') as unknown as string });
    await expect(edgeSettings({ broker: 'mqtt://b:1883', key: join(dir, 'k.key'), cert: join(dir, 'junk.crt') }, undefined, {})).rejects.toMatchObject({ code: 'TLS_FILE', message: expect.stringContaining('is not TLS') as unknown as string });
  });

  it('refuse a missing file and a password variable that is not set', async () => {
    await expect(readEdgeConfig(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
    const loaded = await readEdgeConfig(await file('c.json', { deviceId: 'x', broker: { password: { env: 'AKB_TEST_NOPE' } } }));
    await expect(edgeSettings({}, loaded, {})).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('AKB_TEST_NOPE') as unknown as string });
  });
});
