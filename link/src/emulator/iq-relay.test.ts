import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { packetize } from '../sdr/datagrams.js';
import { IqRelay } from './iq-relay.js';

async function listener(): Promise<{ socket: Socket; port: number; next: () => Promise<Buffer> }> {
  const socket = createSocket('udp4');
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (m) => {
    queue.push(m);
    wake?.();
  });
  const port = await new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
  const next = async (): Promise<Buffer> => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift()!;
  };
  return { socket, port, next };
}

function samples(d: Buffer): Float32Array {
  const out = new Float32Array((d.length - 8) / 4);
  for (let i = 0; i < out.length; i++) out[i] = d.readFloatLE(8 + 4 * i);
  return out;
}

describe('IqRelay', () => {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('adds noise of variance 10^(-SNR/10) per complex sample, keeps the header, and follows setSnr', async () => {
    const rx = await listener();
    closers.push(() => rx.socket.close());
    const relay = await IqRelay.open({ outPort: rx.port, snrDb: 10, seed: 3, device: 'cam' });
    closers.push(() => relay.close());
    const tx = createSocket('udp4');
    closers.push(() => tx.close());
    const noisePower = async (seq: bigint): Promise<number> => {
      const [d] = packetize(new Float32Array(2 * 183), seq);
      tx.send(d!, relay.port, '127.0.0.1');
      const got = await rx.next();
      expect(got.readBigUInt64LE(0)).toBe(seq);
      const v = samples(got);
      return v.reduce((s, x) => s + x * x, 0) / (v.length / 2);
    };
    let p10 = 0;
    for (let i = 0; i < 20; i++) p10 += (await noisePower(BigInt(i))) / 20;
    expect(relay.setSnr(0)).toEqual(['cam']);
    expect(relay.snrState()).toEqual({ defaultSnrDb: 0, devices: [{ device: 'cam', snrDb: 0, pinned: true }] });
    let p0 = 0;
    for (let i = 0; i < 20; i++) p0 += (await noisePower(BigInt(20 + i))) / 20;
    // 3,660 complex draws each: the mean is within a few percent of the variance.
    expect(p10).toBeGreaterThan(0.09);
    expect(p10).toBeLessThan(0.11);
    expect(p0).toBeGreaterThan(0.9);
    expect(p0).toBeLessThan(1.1);
    expect(() => relay.setSnr(100)).toThrow(/-50 to 60 dB/);
  });

  it('rotates by the frequency offset, continuously across datagrams', async () => {
    const rx = await listener();
    closers.push(() => rx.socket.close());
    const relay = await IqRelay.open({ outPort: rx.port, snrDb: 60, freqOffset: 0.01 });
    closers.push(() => relay.close());
    const tx = createSocket('udp4');
    closers.push(() => tx.close());
    const ones = new Float32Array(2 * 183).map((_, i) => (i % 2 === 0 ? 1 : 0));
    const phases: number[] = [];
    for (let k = 0; k < 2; k++) {
      tx.send(packetize(ones, BigInt(k))[0]!, relay.port, '127.0.0.1');
      const v = samples(await rx.next());
      for (let i = 0; i < v.length; i += 2) phases.push(Math.atan2(v[i + 1]!, v[i]!));
    }
    for (const n of [1, 100, 183, 200, 365]) {
      const expected = Math.atan2(Math.sin(2 * Math.PI * 0.01 * n), Math.cos(2 * Math.PI * 0.01 * n));
      expect(Math.abs(phases[n]! - expected)).toBeLessThan(0.01);
    }
  });

  it('drops and counts datagrams that are not whole samples or too long, and keeps relaying', async () => {
    const rx = await listener();
    closers.push(() => rx.socket.close());
    const relay = await IqRelay.open({ outPort: rx.port, payloadBytes: 1472 });
    closers.push(() => relay.close());
    const tx = createSocket('udp4');
    closers.push(() => tx.close());
    for (const bad of [new Uint8Array(5), new Uint8Array(8), new Uint8Array(8 + 12), new Uint8Array(1480)]) tx.send(bad, relay.port, '127.0.0.1');
    tx.send(packetize(new Float32Array(2 * 183), 7n)[0]!, relay.port, '127.0.0.1');
    const got = await rx.next();
    expect(got.readBigUInt64LE(0)).toBe(7n);
    expect(relay.stats).toMatchObject({ datagrams: 5, malformed: 4, samples: 183 });
    await expect(IqRelay.open({ outPort: rx.port, freqOffset: 0.7 })).rejects.toThrow(/freqOffset/);
  });
});
