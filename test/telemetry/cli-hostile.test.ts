/**
 * `akb telemetry` against hostile publishers on a real broker: malformed JSON, a payload over the
 * protocol's 256 KiB limit, a schema violation, a device publishing as another (its payload names a
 * different device than its topic), and a 2,000-message flood from one device. The view keeps running,
 * counts each refusal in its footer, never shows the forged values, still shows the honest device, and
 * on a terminal redraws far less often than messages arrive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import type { AkbMqttClient } from '@akb/protocol/mqtt';
import { availableBrokerKinds, describeWithProgram, type BrokerHandle } from '../support/index.js';
import { jsonLines, otherClient, runAkb, runAkbOnPty, sample, simDevice, type SimDevice } from './cli-fleet.js';

const FLOOD = 2000;

async function hostile(peer: AkbMqttClient): Promise<void> {
  await peer.publish(topics.telemetry('victim'), '{"v":1,"device":', { qos: 1 });
  await peer.publish(topics.telemetry('victim'), Buffer.alloc(300 * 1024, 0x20), { qos: 1 });
  await peer.publish(topics.telemetry('victim'), sample('victim', 1, { snrDb: 'high' }), { qos: 1 });
  // "mallory" publishes on victim's topic, as victim: refused, victim's row never gets SNR 99.
  await peer.publish(topics.telemetry('victim'), sample('mallory', 1, { snrDb: 99 }), { qos: 1 });
  await peer.publish(topics.status('victim'), '\xff\xfe not utf-8', { qos: 1 });
}

/** In rounds of 250: a broker drops QoS 0 messages to a subscriber more than ~1,000 behind (Mosquitto's max_queued_messages). */
async function flood(device: SimDevice): Promise<void> {
  for (let round = 0; round < FLOOD; round += 250) {
    const sends: Promise<void>[] = [];
    for (let i = round; i < round + 250; i++) sends.push(device.client.publish(topics.telemetry(device.id), sample(device.id, i, { snrDb: 3 }), { qos: 0 }));
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(availableBrokerKinds())('akb telemetry against hostile input on $name', (kind) => {
  let broker: BrokerHandle;
  let peer: AkbMqttClient;
  let victim: SimDevice;
  let noisy: SimDevice;

  beforeAll(async () => {
    broker = await kind.start();
    peer = await otherClient(broker.url);
    victim = await simDevice(broker.url, 'victim');
    noisy = await simDevice(broker.url, 'noisy');
  });
  afterAll(async () => {
    await victim.client.close();
    await noisy.client.close();
    await peer.close();
    await broker.close();
  });

  it('--json: never shows a refused or forged message, a line per flood message, and the honest device still reported', async () => {
    const akb = runAkb(['telemetry', '--broker', broker.url, '--json']);
    await akb.until((out) => jsonLines(out).filter((l) => l.update === 'status').length >= 2, 'both births');
    await hostile(peer);
    await flood(noisy);
    await victim.send(5, { snrDb: 4.5 });
    await akb.until((out) => jsonLines(out).some((l) => l.device === 'victim' && l.update === 'telemetry'), "victim's honest sample");
    await akb.until((out) => jsonLines(out).filter((l) => l.device === 'noisy' && l.update === 'telemetry').length === FLOOD, 'a line per flood message');
    akb.child.kill('SIGINT');
    expect(await akb.exited).toBe(0);
    const lines = jsonLines(akb.stdout());
    expect(lines.some((l) => l.device === 'mallory' || l.snrDb === 99)).toBe(false);
    expect(lines.filter((l) => l.device === 'victim' && l.update === 'telemetry').map((l) => l.snrDb)).toEqual([4.5]);
    expect(akb.stderr()).toBe('');
  });

  it('--json to a reader that stops reading: at most 4 MiB waits, the rest is dropped and counted on stderr', async () => {
    const akb = runAkb(['telemetry', '--broker', broker.url, '--json', '--device', 'noisy']);
    await akb.until((out) => out.includes('"device":"noisy"'), "noisy's status line");
    akb.child.stdout!.pause();
    // Each line is ~450 bytes: ~9,300 of them fill the 4 MiB allowed to wait. A loaded broker may drop QoS 0
    // messages to a subscriber that falls behind (Mosquitto counts them against max_queued_messages), so
    // how many arrive is not known in advance: publish in rounds of 1,000 until the view says on stderr that
    // it drops its first line, at most 100,000 messages (the test's own timeout ends it when none comes).
    let sent = 0;
    while (!akb.stderr().includes('dropping JSON lines') && sent < 100_000) {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 1000; i++, sent++) sends.push(noisy.client.publish(topics.telemetry('noisy'), sample('noisy', sent), { qos: 0 }));
      await Promise.all(sends);
      await new Promise((r) => setTimeout(r, 50));
    }
    await akb.until(() => akb.stderr().includes('dropping JSON lines'), 'the first-drop note on stderr', 30_000);
    akb.child.kill('SIGINT');
    akb.child.stdout!.resume();
    expect(await akb.exited).toBe(0);
    const dropped = Number(/(\d+) JSON line\(s\) dropped because stdout fell behind/.exec(akb.stderr())?.[1] ?? NaN);
    expect(akb.stderr()).toContain('stdout is more than 4 MiB behind: dropping JSON lines until it catches up');
    const lines = jsonLines(akb.stdout()).filter((l) => l.update === 'telemetry');
    expect(dropped).toBeGreaterThan(0);
    expect(lines.length + dropped).toBeLessThanOrEqual(sent);
    expect(lines.length * 400).toBeLessThan(4.5 * 2 ** 20 + 64 * 1024 * 2);
  }, 90_000);

  describeWithProgram('script', 'util-linux', 'on a pseudo-terminal', () => {
    it.skipIf(!kind.v5)('--mqtt5: the broker withholds a message over the 256 KiB limit, so it is never received', async () => {
      const akb = runAkbOnPty(['telemetry', '--broker', broker.url, '--mqtt5', '--interval', '100'], 120, 20);
      await akb.until((out) => out.includes('victim'), 'victim drawn');
      const footer = (): string => akb.stdout().slice(akb.stdout().lastIndexOf('\x1b[H'));
      const before = Number(/(\d+) msg, (\d+) malformed/.exec(footer())?.[1] ?? NaN);
      await peer.publish(topics.telemetry('victim'), Buffer.alloc(300 * 1024, 0x20), { qos: 1 });
      await peer.publish(topics.telemetry('victim'), '{"v":1,"device":', { qos: 1 });
      await akb.until(() => / 1 malformed/.test(footer()), 'the small malformed message counted');
      // Only the small one arrived: one message more than before.
      expect(Number(/(\d+) msg, /.exec(footer())![1])).toBe(before + 1);
      akb.press('q');
      expect(await akb.exited).toBe(0);
    });

    it('counts the refusals in the footer and draws far fewer frames than the flood has messages; q quits', async () => {
      const akb = runAkbOnPty(['telemetry', '--broker', broker.url, '--interval', '200'], 120, 20);
      await akb.until((out) => out.includes('victim') && out.includes('noisy'), 'both devices drawn');
      await hostile(peer);
      await flood(noisy);
      await akb.until((out) => /4 malformed, 1 device mismatch/.test(out.slice(out.lastIndexOf('\x1b[H'))), 'the footer counting the refusals');
      akb.press('q');
      expect(await akb.exited).toBe(0);
      const frames = akb.stdout().split('\x1b[H').length - 1;
      expect(frames).toBeGreaterThan(1);
      expect(frames).toBeLessThan(FLOOD / 10);
    });
  });
});
