/**
 * The `serial` link driver against a misbehaving modem (ModemSim on a socat pty, as an RN2483, airtime ÷ 10):
 * thrown at it: `radio_err` on 40 % of transmissions, a line of noise before 50 % of answers, a modem that
 * goes silent (MODEM_TIMEOUT, then it answers again), a reset mid-frame (the banner: the driver sets the
 * modem up again and retries the packet), and the pty pair killed under it (unplugged: LINE_CLOSED, then
 * PORT_OPEN while it is gone; a new pty at the same path: the driver reopens it and carries on), and
 * programs that are no modem at all: random bytes (/dev/urandom) and an endless `yes` (the open fails
 * with MODEM_TIMEOUT, or MODEM_PROTOCOL when noise passes for one answer; lines stay bounded).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SerialLink } from '@akb/link';
import { makeFrame, requireProgram } from '../support/index.js';
import { socatPty } from '../support/pty.js';
import { startRig, type Rig } from './serial-rig.js';

const run = requireProgram('socat', 'socat');
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const payloads = (r: Rig): Buffer[] => r.inbox.messages.map((m) => Buffer.from(m.payload));

describe.runIf(run)('serial link faults (RN2483 simulator on a pty)', () => {
  it('retries radio_err (bounded) and skips garbage lines; every frame still arrives', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10, txErrorRate: 0.4, garbageRate: 0.5, seed: 7 });
    const link = await rig.link({ maxRetries: 8 });
    const frames = [makeFrame(600, 1), makeFrame(600, 2)];
    await link.send(frames);
    await rig.inbox.waitFor(2, 20_000);
    expect(payloads(rig)).toEqual(frames.map((f) => Buffer.from(f)));
    expect(link.stats.packetsRetried).toBe(rig.sim.stats.txErrors);
    expect(link.stats.packetsRetried).toBeGreaterThan(0);
    expect(link.stats.garbageLines).toBe(rig.sim.stats.garbageLines);
    expect(link.stats.garbageLines).toBeGreaterThan(0);
    expect(link.stats.packetsLost).toBe(0);
  });

  it('loses a packet that fails more often than the retries allow, with the rest of its fragment, counted', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10, txErrorRate: 1 });
    const link = await rig.link({ maxRetries: 2 });
    await link.send([makeFrame(600, 1)]); // 3 packets: the first fails 3 times, the other two are never tried
    expect(link.stats).toMatchObject({ packetsSent: 0, packetsRetried: 2, packetsLost: 3, sendFailures: 1, fragmentsSent: 0 });
    expect(rig.sim.stats.txErrors).toBe(3);
  });

  it('a modem that stops answering fails the send with MODEM_TIMEOUT; once it answers again the link carries on', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10 });
    const link = await rig.link({ responseTimeoutMs: 1000 });
    rig.sim.silence(true);
    await expect(link.send([makeFrame(600, 1), makeFrame(62, 2)])).rejects.toMatchObject({ code: 'MODEM_TIMEOUT', message: expect.stringMatching(/did not answer "radio tx [0-9A-F]+/u) as unknown as string });
    expect(link.stats.modemTimeouts).toBe(1);
    expect(link.stats.sendFailures).toBe(2); // the timed-out fragment and the one after it
    rig.sim.silence(false);
    const frame = makeFrame(62, 3);
    await link.send([frame]);
    await rig.inbox.waitFor(1, 10_000);
    expect(payloads(rig)).toEqual([Buffer.from(frame)]);
    expect(rig.sim.stats.commands).toBeGreaterThan(5); // set up again: mac pause and the radio settings
  });

  it('a reset mid-frame (the RN2483 banner) makes the driver set the modem up again and retry; the frame arrives', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 4 });
    const link = await rig.link({});
    const frame = makeFrame(1024, 1); // 5 packets of ≈ 100 ms each at this scale
    const sending = link.send([frame]);
    for (let i = 0; i < 400 && rig.sim.stats.packetsOnAir < 2; i++) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 400 && !rig.sim.transmitting; i++) await new Promise((r) => setTimeout(r, 5));
    expect(rig.sim.transmitting).toBe(true);
    rig.sim.reset();
    await sending;
    await rig.inbox.waitFor(1, 10_000);
    expect(payloads(rig)).toEqual([Buffer.from(frame)]);
    expect(link.stats).toMatchObject({ modemResets: 1, packetsRetried: 1, packetsSent: 5, packetsLost: 0 });
  });

  it('unplugged: LINE_CLOSED on the error listener, PORT_OPEN while gone; plugged back in, it reopens and carries on', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10 });
    const link = await rig.link({});
    const errors: string[] = [];
    link.onError((e) => errors.push((e as { code?: string }).code ?? e.message));
    await link.send([makeFrame(62, 1)]);
    await rig.unplug();
    for (let i = 0; i < 400 && !errors.includes('LINE_CLOSED'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(errors).toContain('LINE_CLOSED');
    await expect(link.send([makeFrame(62, 2)])).rejects.toMatchObject({ code: 'PORT_OPEN', message: expect.stringContaining(rig.pty.path) as unknown as string });
    await rig.plugIn();
    const frame = makeFrame(600, 3);
    await link.send([frame]);
    await rig.inbox.waitFor(2, 10_000);
    expect(payloads(rig)[1]).toEqual(Buffer.from(frame));
    expect(link.stats.reconnects).toBe(1);
    expect(link.stats.packetsLost).toBe(1);
  });

  for (const [what, program] of [['random bytes', '/bin/cat /dev/urandom'], ['an endless stream of lines', '/usr/bin/yes ERR']] as const) {
    it(`a "modem" that answers ${what} fails the open with a clear error, and the port is let go`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'akb-serial-junk-'));
      const pty = await socatPty(dir, 'modem', program);
      try {
        await expect(SerialLink.open({ path: pty.path, modem: { kind: 'rn2483', sf: 7, bwKhz: 125, cr: 1 }, responseTimeoutMs: 300 })).rejects.toMatchObject({
          // A stray line of digits can pass for `mac pause`'s answer; then a setting meets nonsense.
          code: expect.stringMatching(/^MODEM_(TIMEOUT|PROTOCOL)$/u) as unknown as string,
          message: expect.stringMatching(/^the modem (did not answer|answered "[a-z_]+" to) "(mac pause|radio set)/u) as unknown as string,
        });
      } finally {
        await pty.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
