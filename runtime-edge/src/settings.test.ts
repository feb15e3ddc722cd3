/**
 * akb-edge's settings from flags, environment and the --config file: precedence flag > environment > file
 * > default; the link section, the shorthands and their overrides; the password by reference; a bad file
 * refused with the field named (exit 2), and broker settings akb-edge cannot apply refused.
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
    ['a TLS section akb-edge cannot apply', { deviceId: 'x', broker: { tls: { ca: 'ca.pem' } } }, 'does not apply broker.tls'],
    ['text that is not JSON', '{"deviceId": ', 'is not JSON'],
  ])('refuse %s with the field named, exit 2', async (_, value, message) => {
    const path = await file('bad.json', value);
    await expect(readEdgeConfig(path)).rejects.toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2, message: expect.stringContaining(message) as unknown as string });
  });

  it('refuse a missing file and a password variable that is not set', async () => {
    await expect(readEdgeConfig(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
    const loaded = await readEdgeConfig(await file('c.json', { deviceId: 'x', broker: { password: { env: 'AKB_TEST_NOPE' } } }));
    await expect(edgeSettings({}, loaded, {})).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('AKB_TEST_NOPE') as unknown as string });
  });
});
