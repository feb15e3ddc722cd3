/**
 * `akb telemetry` as users run it (the built CLI in a child process) against aedes and Mosquitto, with
 * simulated devices publishing births, telemetry and alarm states: the JSON lines, the `--once` table,
 * a clean exit on Ctrl-C. The pseudo-terminal view and hostile input: cli-pty.test.ts, cli-hostile.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import type { AkbMqttClient } from '@akb/protocol/mqtt';
import { availableBrokerKinds, describeWithProgram, startMosquitto, type BrokerHandle, type MosquittoHandle } from '../support/index.js';
import { alarmState, jsonLines, otherClient, runAkb, runAkbWithEnv, simDevice, type SimDevice } from './cli-fleet.js';

describe.each(availableBrokerKinds())('akb telemetry on $name', (kind) => {
  let broker: BrokerHandle;
  let cloud: AkbMqttClient;
  const devices: SimDevice[] = [];

  beforeAll(async () => {
    broker = await kind.start();
    cloud = await otherClient(broker.url);
    devices.push(await simDevice(broker.url, 'cam-01'), await simDevice(broker.url, 'cam-02'));
    await devices[0]!.send(1);
    await cloud.publish(topics.alarm('cam-02'), alarmState('cam-02', ['link-quality', 'temperature']), { qos: 1, retain: true });
  });
  afterAll(async () => {
    for (const d of devices) await d.client.close();
    await cloud.close();
    await broker.close();
  });

  it('--json: the retained statuses and alarms at once, then a line per telemetry sample; Ctrl-C exits 0', async () => {
    const akb = runAkb(['telemetry', '--broker', broker.url, '--json']);
    await akb.until((out) => jsonLines(out).some((l) => l.device === 'cam-02' && l.update === 'alarm'), 'cam-02 alarm line');
    await akb.until((out) => jsonLines(out).filter((l) => l.update === 'status').length >= 2, 'two status lines');
    await devices[1]!.send(7, { snrDb: -3.5 });
    await akb.until((out) => jsonLines(out).some((l) => l.device === 'cam-02' && l.update === 'telemetry'), 'cam-02 telemetry line');
    akb.child.kill('SIGINT');
    expect(await akb.exited).toBe(0);

    const lines = jsonLines(akb.stdout());
    const last = lines.filter((l) => l.device === 'cam-02').at(-1)!;
    expect(last).toMatchObject({
      update: 'telemetry', state: 'online', profile: 'rpi-5', snrDb: -3.5, psnr: 28.4, ssim: 0.912, latencyMs: 48,
      action: { id: 3, ratePrefix: 512, power: 1.25 }, rssBytes: 180 * 2 ** 20, temperatureC: 51, cpuPercent: 35,
    });
    expect((last.alarms as { kind: string }[]).map((a) => a.kind)).toEqual(['link-quality', 'temperature']);
    expect(typeof last.ts).toBe('number');
    expect(akb.stderr()).toBe('');
  });

  it('on a pipe without --json: JSON lines too, nothing else on stdout', async () => {
    const akb = runAkb(['telemetry', '--broker', broker.url]);
    await akb.until((out) => jsonLines(out).filter((l) => l.update === 'status').length >= 2, 'two status lines');
    akb.child.kill('SIGTERM');
    expect(await akb.exited).toBe(0);
    expect(jsonLines(akb.stdout()).map((l) => l.device)).toEqual(expect.arrayContaining(['cam-01', 'cam-02']));
  });

  it('--once: prints the table of the current state and exits 0', async () => {
    const akb = runAkb(['telemetry', '--broker', broker.url, '--once', '--wait', '1']);
    // Telemetry is not retained: cam-01 publishes at 5 Hz while the view collects.
    let running = true;
    const sending = (async () => {
      while (running) {
        await devices[0]!.send(1);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    expect(await akb.exited).toBe(0);
    running = false;
    await sending;
    const out = akb.stdout();
    expect(out).not.toContain('\x1b');
    const rows = out.split('\n');
    expect(rows[0]).toMatch(/^akb telemetry {2}mqtt:\/\/127\.0\.0\.1:\d+ {2}2 device\(s\), 2 live, 1 alarmed/);
    expect(rows[1]).toMatch(/^DEVICE +STATE +ALARMS +SEEN +SNR dB +USES\/PWR +PSNR +SSIM +LAT ms +RSS MB +TEMP PROFILE$/);
    expect(rows[2]).toMatch(/^cam-01 +online +- +\d+s +7\.5 +512\/1\.25 +28\.4 +0\.912 +42 +180 +51 rpi-5$/);
    expect(rows[3]).toMatch(/^cam-02 +online +link-quality,temper… +\d+s +- +- .* rpi-5$/);
  });

  it('--once --json --device: one line per device the ids and globs match', async () => {
    const akb = runAkb(['telemetry', '--broker', broker.url, '--once', '--json', '--wait', '1', '--device', 'cam-0?', '--device', 'nothing-*']);
    expect(await akb.exited).toBe(0);
    expect(jsonLines(akb.stdout()).map((l) => l.device)).toEqual(['cam-01', 'cam-02']);
    const only = runAkb(['telemetry', '--broker', broker.url, '--once', '--json', '--wait', '1', '--device', '*-02']);
    expect(await only.exited).toBe(0);
    expect(jsonLines(only.stdout()).map((l) => l.device)).toEqual(['cam-02']);
  });
});

describe('akb telemetry: refused options and an unreachable broker', () => {
  it('refuses a device pattern no id could match, with one line and exit 2', async () => {
    const akb = runAkb(['telemetry', '--broker', 'mqtt://127.0.0.1:1', '--device', 'cam/01', '--once']);
    expect(await akb.exited).toBe(2);
    expect(akb.stderr().trim().split('\n')).toEqual([expect.stringMatching(/--device "cam\/01" is not a device id or glob/)]);
  });

  it('refuses --interval 0 with one line and exit 2', async () => {
    const akb = runAkb(['telemetry', '--interval', '0']);
    expect(await akb.exited).toBe(2);
    expect(akb.stderr()).toMatch(/--interval 0: give 50 to 60000 ms/);
  });

  it('says in one line that the broker cannot be reached, exit 1', async () => {
    const akb = runAkb(['telemetry', '--broker', 'mqtt://127.0.0.1:1', '--once']);
    expect(await akb.exited).toBe(1);
    expect(akb.stderr().trim().split('\n')).toHaveLength(1);
    expect(akb.stderr()).toMatch(/cannot connect to mqtt:\/\/127\.0\.0\.1:1/);
    expect(akb.stdout()).toBe('');
  });
});

describe.each(availableBrokerKinds())('akb telemetry when $name restarts', (kind) => {
  it('says so on stderr, reconnects, and shows devices again; stdout stays JSON', async () => {
    const broker = await kind.start();
    const akb = runAkb(['telemetry', '--broker', broker.url, '--json']);
    try {
      const first = await simDevice(broker.url, 'before');
      await akb.until((out) => out.includes('"device":"before"'), "the first device's line");
      await first.client.close({ force: true });
      await broker.restart({ downMs: 300 });
      await akb.until(() => /lost the broker mqtt:\/\/127\.0\.0\.1:\d+, reconnecting\nakb telemetry: reconnected\n/.test(akb.stderr()), 'the notes on stderr');
      const second = await simDevice(broker.url, 'after');
      await second.send(1);
      await akb.until((out) => jsonLines(out).some((l) => l.device === 'after' && l.update === 'telemetry'), "the second device's sample");
      await second.client.close();
    } finally {
      akb.child.kill('SIGINT');
      expect(await akb.exited).toBe(0);
      await broker.close();
    }
  });
});

describeWithProgram('mosquitto', 'mosquitto', 'akb telemetry with a user name and password (Mosquitto)', () => {
  let broker: MosquittoHandle;
  beforeAll(async () => {
    broker = await startMosquitto({
      allowAnonymous: false,
      passwords: { viewer: 'v-secret' },
      acl: ['user viewer', 'topic read akb/v1/dev/+/status', 'topic read akb/v1/dev/+/telemetry', 'topic read akb/v1/alarm/+'].join('\n'),
    });
  });
  afterAll(() => broker.close());

  it('connects with --username and --password-env; a wrong password is one line, exit 1', async () => {
    const wrong = runAkbWithEnv(['telemetry', '--broker', broker.url, '--username', 'viewer', '--password-env', 'VIEWER_PW', '--once'], { VIEWER_PW: 'wrong' });
    expect(await wrong.exited).toBe(1);
    expect(wrong.stderr()).toMatch(/cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: .*(Not authorized|Bad username or password)/i);
    const akb = runAkbWithEnv(['telemetry', '--broker', broker.url, '--username', 'viewer', '--password-env', 'VIEWER_PW', '--once', '--wait', '0.2'], { VIEWER_PW: 'v-secret' });
    expect(await akb.exited).toBe(0);
    expect(akb.stdout()).toMatch(/^akb telemetry {2}mqtt:\/\/127\.0\.0\.1:\d+ {2}0 device\(s\)/);
  });

  it('refuses --password-env naming an unset variable, exit 2', async () => {
    const akb = runAkbWithEnv(['telemetry', '--broker', broker.url, '--username', 'viewer', '--password-env', 'AKB_TEST_UNSET_PW'], {});
    expect(await akb.exited).toBe(2);
    expect(akb.stderr()).toMatch(/--password-env AKB_TEST_UNSET_PW: that environment variable is not set/);
  });
});
