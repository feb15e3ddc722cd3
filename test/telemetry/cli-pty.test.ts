/**
 * `akb telemetry` on a real pseudo-terminal (util-linux `script`): the table is redrawn in place (every
 * frame starts at cursor home and writes fewer lines than the terminal has, so nothing scrolls), a device
 * that connects later shows up, lines fit the width, and Ctrl-C leaves the alternate screen with the
 * cursor shown again and exit 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import type { AkbMqttClient } from '@akb/protocol/mqtt';
import { availableBrokerKinds, describeWithProgram, type BrokerHandle } from '../support/index.js';
import { alarmState, otherClient, runAkbOnPty, simDevice, type SimDevice } from './cli-fleet.js';

const HOME = '\x1b[H';
const COLS = 90;
const ROWS = 12;
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** The frames drawn so far: the text after each cursor-home. */
const frames = (out: string): string[] => out.split(HOME).slice(1);

describeWithProgram('script', 'util-linux', 'akb telemetry on a pseudo-terminal', () => {
  describe.each(availableBrokerKinds())('$name', (kind) => {
    let broker: BrokerHandle;
    let cloud: AkbMqttClient;
    const devices: SimDevice[] = [];

    beforeAll(async () => {
      broker = await kind.start();
      cloud = await otherClient(broker.url);
      devices.push(await simDevice(broker.url, 'edge-a'));
      await cloud.publish(topics.alarm('edge-a'), alarmState('edge-a', ['snr-low']), { qos: 1, retain: true });
    });
    afterAll(async () => {
      for (const d of devices) await d.client.close();
      await cloud.close();
      await broker.close();
    });

    it('redraws in place, shows a device that connects later, and restores the terminal on Ctrl-C', async () => {
      const akb = runAkbOnPty(['telemetry', '--broker', broker.url, '--interval', '100'], COLS, ROWS);
      await akb.until((out) => frames(out).some((f) => f.includes('edge-a')), 'a frame with edge-a');
      expect(akb.stdout()).toContain('\x1b[?1049h');
      const before = frames(akb.stdout()).length;

      devices.push(await simDevice(broker.url, 'edge-b'));
      await devices[1]!.send(1, { snrDb: 12.25 });
      await akb.until((out) => frames(out).slice(before).some((f) => /edge-b +online +- +\d+s +12\.3 /.test(stripAnsi(f))), 'a frame with edge-b');

      akb.interrupt();
      expect(await akb.exited).toBe(0);
      const out = akb.stdout();
      const all = frames(out);
      expect(all.length).toBeGreaterThan(1);
      for (const frame of all) {
        const body = frame.slice(0, frame.includes('\x1b[?25h') ? frame.indexOf('\x1b[?25h') : undefined);
        // Fewer line breaks than rows: the screen never scrolls, so nothing piles up in the scrollback.
        expect(body.split('\n').length).toBeLessThanOrEqual(ROWS);
        for (const line of stripAnsi(body).split(/\r*\n/)) expect(line.length, JSON.stringify(line)).toBeLessThanOrEqual(COLS);
      }
      const last = stripAnsi(all.at(-1)!);
      expect(last).toMatch(/^akb telemetry {2}mqtt:\/\/127\.0\.0\.1:\d+ {2}2 device\(s\)/);
      // edge-a's alarm is painted red.
      expect(all.at(-1)).toContain('\x1b[31msnr-low ');
      // Ctrl-C: the cursor is shown again and the alternate screen left.
      expect(out.slice(out.lastIndexOf(HOME))).toContain('\x1b[?25h\x1b[?1049l');
    });
  });
});
