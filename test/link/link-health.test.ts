/**
 * TrackedLink (telemetry's `link` health, protocol 1.3) over a real serial link: an RN2483 simulator on a
 * socat pty pair. Thrown at it: the pty pair killed under the link (unplugged), a send while it is gone,
 * then the modem plugged back in. The health goes down with the fault that took it down and comes back up
 * with the next send that goes through; the radio counters are the driver's own; the sample validates
 * against the telemetry schema.
 */
import { afterEach, expect, it } from 'vitest';
import { TelemetryMessage } from '@akb/protocol';
import { TrackedLink } from '@akb/link';
import { describeWithProgram, makeFrame } from '../support/index.js';
import { startRig, type Rig } from './serial-rig.js';

describeWithProgram('socat', 'socat', 'link health over a serial modem', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('is up with int8 symbols and airtime, down on unplug (PORT_OPEN named), up again once a send goes through', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10 });
    const link = new TrackedLink(await rig.link({ airtimeScale: 10 }), () => 1_767_225_600_000);
    await link.send([makeFrame(62, 1)]);
    const healthy = link.health();
    expect(healthy).toMatchObject({ driver: 'serial', up: true, symbolEncoding: 'int8', packetsLost: 0, sendFailures: 0 });
    expect(healthy.fault).toBeUndefined();
    expect(healthy.airtimeMs).toBeGreaterThan(0);
    await rig.unplug();
    await expect.poll(() => link.health().up, { timeout: 5000 }).toBe(false);
    await expect(link.send([makeFrame(62, 2)])).rejects.toMatchObject({ code: 'PORT_OPEN' });
    const down = link.health();
    expect(down).toMatchObject({ up: false, fault: { code: 'PORT_OPEN', ts: 1_767_225_600_000 } });
    expect(down.fault!.message).toContain(rig.pty.path);
    // What the edge would publish: a sample carrying this health passes the schema.
    const sample = { v: 1, device: 'cam-radio', ts: 1, seq: 1, latencyMs: {}, snrDb: null, cpuPercent: 0, memoryRssBytes: 1, counters: { framesSent: 1, framesDropped: 1, framesMalformed: 0 }, link: down };
    expect(TelemetryMessage.safeParse(sample).success).toBe(true);
    await rig.plugIn();
    await link.send([makeFrame(600, 3)]);
    expect(link.health()).toMatchObject({ up: true, fault: { code: 'PORT_OPEN' } });
    await rig.inbox.waitFor(2, 10_000);
    await link.close();
  });
});
