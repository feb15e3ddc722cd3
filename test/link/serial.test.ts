/**
 * The `serial` link driver end to end on real pseudo-terminals (socat): the driver talks to ModemSim as to
 * an RN2483 (LoRa AT) or an E32 (transparent, 58-byte packets), the sim's air goes to RadioGatewaySim,
 * which publishes reassembled frames on link/rx through aedes. Airtime is scaled down (stated per test);
 * the driver's stats count unscaled airtime. Thrown at it: a float32 frame (refused: DTYPE_UNSUPPORTED),
 * more packets than the queue holds, a duty-cycle budget smaller than the traffic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loraTimeOnAirMs, openModemLine, transparentTimeOnAirMs } from '@akb/link';
import { segmentFrame } from '@akb/protocol';
import { makeFrame, requireProgram } from '../support/index.js';
import { float32Frame, startRig, type Rig } from './serial-rig.js';

const run = requireProgram('socat', 'socat');
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe.runIf(run)('serial link over a pty: RN2483 LoRa AT', () => {
  it('carries int8 frames byte-identical to link/rx, paced by the time on air, and says what it is', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10 });
    const link = await rig.link({});
    expect(link.capabilities.dtypes).toEqual(['int8']);
    expect(link.capabilities.radio).toMatchObject({ modem: 'rn2483', packetBytes: 255, dutyCycle: 1 });
    expect(link.capabilities.radio.packetAirtimeMs).toBeCloseTo(loraTimeOnAirMs(255, { sf: 7, bwKhz: 125, cr: 1 }), 6);
    // (255 − 7) payload bytes per packet time: about 617 B/s at SF7/125 kHz.
    expect(link.capabilities.rate?.bytesPerSecond).toBeGreaterThan(600);
    expect(link.capabilities.rate?.bytesPerSecond).toBeLessThan(640);
    const frames = [makeFrame(600, 1), makeFrame(62, 2), makeFrame(1024, 3)];
    await link.send(frames.slice(0, 2));
    await link.send(frames.slice(2));
    const got = await rig.inbox.waitFor(3, 20_000);
    expect(got.map((m) => Buffer.from(m.payload))).toEqual(frames.map((f) => Buffer.from(f)));
    const packets = frames.flatMap((f, i) => segmentFrame(f, { mtu: 255, seq: i }));
    const s = link.stats;
    expect(s.symbolEncoding).toBe('int8');
    expect(s.packetsSent).toBe(packets.length);
    expect(s.fragmentsSent).toBe(3);
    expect(s.bytesSent).toBe(600 + 62 + 1024);
    expect(s.airtimeMs).toBeCloseTo(packets.reduce((t, p) => t + loraTimeOnAirMs(p.length, { sf: 7, bwKhz: 125, cr: 1 }), 0), 6);
    expect(s.goodputBytesPerSecond).toBeGreaterThan(0);
    expect(rig.sim.stats.airtimeMs).toBeCloseTo(s.airtimeMs, 6);
    expect(rig.gateway.stats).toMatchObject({ frames: 3, badCrc: 0 });
  });

  it('refuses a float32 frame before sending anything: a digital modem carries int8 symbols', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10 });
    const link = await rig.link({});
    await expect(link.send([makeFrame(62, 1), float32Frame()])).rejects.toMatchObject({ code: 'DTYPE_UNSUPPORTED' });
    expect(link.stats.packetsSent).toBe(0);
    expect(rig.sim.stats.packetsOnAir).toBe(0);
  });

  it('drops what the duty cycle has no airtime for, counts it and raises an alarm; the queue is bounded', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 20 });
    // 1 % of 60 s = 600 ms of air: one full SF7 packet (≈ 400 ms) fits, the second does not.
    const link = await rig.link({ dutyCycle: 0.01, dutyCycleWindowMs: 60_000, maxQueuedPackets: 4 });
    const alarms: string[] = [];
    link.onError((e) => alarms.push((e as { code?: string }).code ?? e.message));
    await link.send([makeFrame(1024, 1)]); // 5 packets
    expect(link.stats.packetsSent).toBe(0);
    expect(link.stats.queueDrops).toBe(5);
    await link.send([makeFrame(600, 2)]); // 3 packets: the first goes, the other two are over the budget
    expect(link.stats.packetsSent).toBe(1);
    expect(link.stats.dutyCycleDrops).toBe(2);
    expect(link.stats.sendFailures).toBe(2);
    expect(alarms).toContain('DUTY_CYCLE');
    expect(await rig.inbox.quiet(200)).toEqual([]);
    expect(rig.gateway.stats.pending).toBe(1);
  });
});

describe.runIf(run)('serial link over a pty: E32 transparent mode', () => {
  it('crosses 58-byte packets at 2.4 kb/s (airtime ÷ 10) with the compact segmentation, byte-identical', async () => {
    rig = await startRig({ modem: { kind: 'e32', airBitsPerSecond: 2400 }, airtimeScale: 10 });
    const link = await rig.link({});
    expect(link.capabilities.radio).toMatchObject({ modem: 'e32', packetBytes: 58, phyBitsPerSecond: 2400 });
    expect(link.capabilities.rate?.bytesPerSecond).toBeCloseTo((58 - 7) / (transparentTimeOnAirMs(58, 2400) / 1000), 6);
    const frames = [makeFrame(300, 1), makeFrame(120, 2)];
    await link.send(frames);
    const got = await rig.inbox.waitFor(2, 20_000);
    expect(got.map((m) => Buffer.from(m.payload))).toEqual(frames.map((f) => Buffer.from(f)));
    expect(link.stats.packetsSent).toBe(segmentFrame(frames[0]!, { mtu: 58, seq: 0 }).length + segmentFrame(frames[1]!, { mtu: 58, seq: 1 }).length);
    expect(rig.sim.stats.overflowBytes).toBe(0);
  });

  it('a corrupted packet on air loses its frame at the gateway (CRC-16), counted, nothing published', async () => {
    rig = await startRig({ modem: { kind: 'e32', airBitsPerSecond: 2400 }, airtimeScale: 10, garbageRate: 1, seed: 3 });
    const link = await rig.link({});
    await link.send([makeFrame(120, 1)]);
    expect(await rig.inbox.quiet(300)).toEqual([]);
    expect(rig.gateway.stats.badCrc).toBeGreaterThan(0);
  });
});

describe.runIf(run)('the RN2483 simulator, spoken to directly', () => {
  it('answers as the datasheet says: busy before mac pause, invalid_param over 255 bytes or for a bad setting, radio rx 0', async () => {
    rig = await startRig({ modem: { kind: 'rn2483' }, airtimeScale: 10 });
    const line = await openModemLine(rig.pty.path, 57_600);
    const got: string[] = [];
    let buf = '';
    line.onData((b) => {
      buf += Buffer.from(b).toString('latin1');
      const parts = buf.split('\r\n');
      buf = parts.pop()!;
      got.push(...parts);
    });
    const ask = async (cmd: string, n: number): Promise<string[]> => {
      const from = got.length;
      await line.write(`${cmd}\r\n`);
      for (let i = 0; i < 400 && got.length < from + n; i++) await new Promise((r) => setTimeout(r, 5));
      return got.slice(from);
    };
    try {
      expect(await ask('radio tx 0102', 1)).toEqual(['busy']);
      expect(await ask('mac pause', 1)).toEqual(['4294967245']);
      expect(await ask(`radio tx ${'AB'.repeat(256)}`, 1)).toEqual(['invalid_param']);
      expect(await ask('radio set sf sf13', 1)).toEqual(['invalid_param']);
      expect(await ask('radio set sf sf9', 1)).toEqual(['ok']);
      expect(await ask('radio tx 0102', 2)).toEqual(['ok', 'radio_tx_ok']);
      expect(await ask('radio rx 0', 1)).toEqual(['ok']);
      expect(rig.sim.hear(new Uint8Array([0xde, 0xad]))).toBe(true);
      for (let i = 0; i < 400 && got.length < 9; i++) await new Promise((r) => setTimeout(r, 5));
      expect(got.at(-1)).toBe('radio_rx  DEAD');
      rig.sim.reset();
      for (let i = 0; i < 400 && got.length < 10; i++) await new Promise((r) => setTimeout(r, 5));
      expect(got.at(-1)).toMatch(/^RN2483 1\.0\.5 /u);
      expect(await ask('radio tx 0102', 1)).toEqual(['busy']);
    } finally {
      await line.close();
    }
  });
});
