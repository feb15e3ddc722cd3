/**
 * The sdr-udp driver and gateway over real UDP on loopback, and the gateway under hostile datagrams:
 * frames published on link/rx (aedes), reordered, duplicated, truncated and flooded datagrams counted
 * without a crash, a flowgraph that is not running reported, a preamble that never comes raising an alarm.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, seededRandom, topics, type AkbError } from '@akb/protocol';
import { connectMqtt } from '@akb/protocol/mqtt';
import { Depacketizer, SdrUdpGateway, SdrUdpLink, createLinkRegistry, linkOptionsFromConfig, modulateFrame, packetize, type SdrAlarm } from '@akb/link';
import { LinkConfig } from '@akb/protocol';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { impair, symbolFrame } from './sdr-support.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe('sdr-udp driver → gateway over UDP', () => {
  it('carries frames to link/rx on the broker, with an SNR estimate', async () => {
    const broker: AedesHandle = await startAedes();
    closers.push(() => broker.close());
    const client = await connectMqtt({ url: broker.url, clientId: uniqueId('sdr') });
    closers.push(() => client.close());
    const inbox = await Inbox.open(client, topics.linkRx('dev1'));
    const gateway = await SdrUdpGateway.open({ port: 0, deviceId: 'dev1', client });
    closers.push(() => gateway.close());
    const snrs: number[] = [];
    gateway.onBurst((b) => snrs.push(b.snrDb));
    const link = await createLinkRegistry().open('sdr-udp', { port: gateway.port, sampleRateHz: 2e6 });
    closers.push(() => link.close());
    const rand = seededRandom(5);
    const sent = [1, 2, 3].map((id) => symbolFrame(200, id, rand));
    await link.send(sent.map((s) => s.frame));
    const got = await inbox.waitFor(3);
    expect(got.map((m) => decodeFrame(m.payload).header.frameId)).toEqual([1, 2, 3]);
    const { payload } = decodeFrame(got[0]!.payload);
    const values = new Float32Array(new Uint8Array(payload).buffer);
    expect(values.length).toBe(400);
    expect(Math.max(...values.map((v, i) => Math.abs(v - sent[0]!.values[i]!)))).toBeLessThan(1e-5);
    expect(snrs.every((s) => s > 60)).toBe(true); // a clean loopback: only float rounding
    expect(link.stats).toMatchObject({ fragmentsSent: 3, sendFailures: 0 });
    expect(gateway.stats).toMatchObject({ frames: 3, headerFailures: 0, late: 0, missing: 0, truncated: 0 });
  });

  it('reports a flowgraph that is not running (nothing listens on the port), and recovers when it comes', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createSocket('udp4').bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const link = await SdrUdpLink.open({ port, sampleRateHz: 1e6 });
    closers.push(() => link.close());
    const errors: AkbError[] = [];
    link.onError((e) => errors.push(e as AkbError));
    const rand = seededRandom(6);
    for (let i = 0; i < 5 && errors.length === 0; i++) await link.send([symbolFrame(100, i, rand).frame]);
    expect(errors[0]).toMatchObject({ code: 'SDR_PEER_UNREACHABLE' });
    expect(errors[0]!.message).toContain(`127.0.0.1:${port}`);
    expect(link.stats.sendFailures).toBeGreaterThan(0);
    const gateway = await SdrUdpGateway.open({ port, deviceId: 'dev2' });
    closers.push(() => gateway.close());
    const arrived = new Promise<number>((resolve) => gateway.onBurst((b) => resolve(b.header.frameId)));
    await link.send([symbolFrame(100, 42, rand).frame]);
    expect(await arrived).toBe(42);
  });
});

describe('sdr-udp options', () => {
  it('refuses bad options with INVALID_SDR_FORMAT, and a fragment over the MTU before sending', async () => {
    // Thrown at it: an MTU of 10 bytes, a sample rate of 0, a header spreading of 0, a 20-byte UDP payload (under 24), a threshold of 1.5.
    await expect(SdrUdpLink.open({ port: 9, mtu: 10 })).rejects.toMatchObject({ code: 'INVALID_SDR_FORMAT' });
    await expect(SdrUdpLink.open({ port: 9, sampleRateHz: 0 })).rejects.toMatchObject({ code: 'INVALID_SDR_FORMAT' });
    await expect(SdrUdpLink.open({ port: 9, headerSpreading: 0 })).rejects.toMatchObject({ code: 'INVALID_SDR_FORMAT' });
    await expect(SdrUdpLink.open({ port: 9, payloadBytes: 20 })).rejects.toMatchObject({ code: 'INVALID_SDR_FORMAT' });
    await expect(SdrUdpGateway.open({ port: 0, deviceId: 'x', threshold: 1.5 })).rejects.toMatchObject({ code: 'INVALID_SDR_FORMAT' });
    const ctx = { deviceId: 'cam', client: undefined as never };
    expect(linkOptionsFromConfig(LinkConfig.parse({ driver: 'sdr-udp', port: 5000, datagramBytes: 8972 }), ctx)).toMatchObject({
      driver: 'sdr-udp',
      options: { host: '127.0.0.1', port: 5000, payloadBytes: 8972, deviceId: 'cam' },
    });
    expect(() => linkOptionsFromConfig(LinkConfig.parse({ driver: 'sdr-udp', port: 5000, sampleDtype: 'ci16_le' }), ctx)).toThrow(
      expect.objectContaining({ code: 'LINK_DRIVER_UNAVAILABLE' }) as Error,
    );
    const link = await SdrUdpLink.open({ port: 9, mtu: 1024 });
    closers.push(() => link.close());
    await expect(link.send([symbolFrame(200, 1, seededRandom(1)).frame])).rejects.toMatchObject({ code: 'FRAGMENT_TOO_LARGE' });
    expect(link.stats.fragmentsSent).toBe(0);
  });
});

describe('sdr-udp gateway under hostile input', () => {
  /** A gateway fed by hand (no timer), with a clock the test moves. */
  async function gatewayAt(clock: { t: number }): Promise<SdrUdpGateway> {
    const g = await SdrUdpGateway.open({ port: 0, deviceId: 'dev3', checkIntervalMs: 0, now: () => clock.t, silenceAlarmMs: 5000, burstTimeoutMs: 1000 });
    closers.push(() => g.close());
    return g;
  }

  it('counts reordered, duplicated and truncated datagrams and still finds the frames that survive', async () => {
    const clock = { t: 0 };
    const g = await gatewayAt(clock);
    const frames: number[] = [];
    g.onBurst((b) => frames.push(b.header.frameId));
    const rand = seededRandom(7);
    const iq = (id: number): Float32Array => impair(modulateFrame(symbolFrame(300, id, rand).frame), { snrDb: 15, lead: 500, tail: 500 }, rand);
    // frame 1 clean; frame 2 with two datagrams swapped and one duplicated; frame 3 with a truncated datagram in the middle
    let seq = 0n;
    const next = (values: Float32Array): Uint8Array[] => {
      const d = packetize(values, seq);
      seq += BigInt(d.length);
      return d;
    };
    for (const d of next(iq(1))) g.receive(d);
    const two = next(iq(2));
    [two[5], two[6]] = [two[6]!, two[5]!];
    two.splice(3, 0, two[3]!);
    for (const d of two) g.receive(d);
    const three = next(iq(3));
    three[10] = three[10]!.subarray(0, 777);
    for (const d of three) g.receive(d);
    for (const d of next(iq(4))) g.receive(d);
    expect(g.stats.late).toBe(2); // the duplicate and the swapped-back datagram
    expect(g.stats.truncated).toBe(1);
    expect(g.stats.missing).toBeGreaterThanOrEqual(1);
    expect(frames).toContain(1);
    expect(frames).toContain(4);
    expect(g.stats.frames + g.stats.headerFailures).toBeLessThanOrEqual(g.stats.detections);
  });

  it('survives a flood of random datagrams, then decodes the next frame', async () => {
    const clock = { t: 0 };
    const g = await gatewayAt(clock);
    const rand = seededRandom(8);
    const bytes = new Uint8Array(1472);
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(rand() * 1473);
      for (let j = 0; j < n; j++) bytes[j] = Math.floor(rand() * 256);
      g.receive(bytes.subarray(0, n));
    }
    // and well-formed datagrams of noise with a valid header
    const noise = impair(new Float32Array(0), { snrDb: 0, tail: 183 * 400 }, rand);
    const base = 1n << 40n;
    for (const d of packetize(noise, base)) g.receive(d);
    expect(g.stats.datagrams).toBeGreaterThan(3000);
    expect(g.stats.frames).toBe(0);
    const frames: number[] = [];
    g.onBurst((b) => frames.push(b.header.frameId));
    for (const d of packetize(impair(modulateFrame(symbolFrame(100, 9, rand).frame), { snrDb: 10, tail: 400 }, rand), base + 400n)) g.receive(d);
    expect(frames).toEqual([9]);
  });

  it('raises no-samples when nothing comes, no-preamble when only noise comes, and clears them', async () => {
    const clock = { t: 0 };
    const g = await gatewayAt(clock);
    const alarms: SdrAlarm[] = [];
    g.onAlarm((a) => alarms.push(a));
    clock.t = 6000;
    g.tick();
    expect(alarms).toEqual([expect.objectContaining({ kind: 'no-samples', active: true })]);
    expect(alarms[0]!.message).toContain('flowgraph');
    const rand = seededRandom(9);
    let seq = 0n;
    for (let s = 0; s < 20; s++) {
      for (const d of packetize(impair(new Float32Array(0), { snrDb: 0, tail: 1830 }, rand), seq)) g.receive(d);
      seq += 10n;
      clock.t += 500;
      g.tick();
    }
    expect(alarms.map((a) => `${a.kind}:${a.active}`)).toEqual(['no-samples:true', 'no-samples:false', 'no-preamble:true']);
    expect(g.activeAlarms).toEqual(['no-preamble']);
    for (const d of packetize(impair(modulateFrame(symbolFrame(100, 5, rand).frame), { snrDb: 10, tail: 400 }, rand), seq)) g.receive(d);
    expect(g.activeAlarms).toEqual([]);
    expect(g.stats.frames).toBe(1);
  });

  it('drops a burst whose samples stop coming, after the timeout, and goes on', async () => {
    const clock = { t: 0 };
    const g = await gatewayAt(clock);
    const rand = seededRandom(10);
    const half = modulateFrame(symbolFrame(2000, 1, rand).frame);
    const d = packetize(half, 0n);
    for (const x of d.slice(0, Math.floor(d.length / 2))) g.receive(x);
    clock.t += 2000;
    g.tick();
    expect(g.stats.abandoned).toBe(1);
    const frames: number[] = [];
    g.onBurst((b) => frames.push(b.header.frameId));
    for (const x of packetize(impair(modulateFrame(symbolFrame(100, 2, rand).frame), { snrDb: 10, tail: 400 }, rand), 1000n)) g.receive(x);
    expect(frames).toEqual([2]);
  });

  it('the depacketizer bounds gaps and follows a restarted sender', () => {
    const dp = new Depacketizer({ maxGapDatagrams: 4 });
    const d = (seq: bigint): Uint8Array => packetize(new Float32Array(2 * 183), seq)[0]!;
    expect(dp.push(d(100n))).toHaveLength(1);
    expect(dp.push(d(103n)).map((v) => v.length)).toEqual([2 * 183 * 2, 2 * 183]);
    expect(dp.push(d(1000n))).toHaveLength(1);
    expect(dp.push(d(0n))).toHaveLength(1); // far behind: a restart, not a late datagram
    expect(dp.push(d(0n))).toHaveLength(0);
    expect(dp.stats).toMatchObject({ datagrams: 5, missing: 2, restarts: 2, late: 1 });
  });
});
