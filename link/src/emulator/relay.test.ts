import { decodeFrame, encodeFrame, fragmentSymbols, unpackSymbols, type FrameMeta } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { measureSnrDb, seededRandom } from '@akb/protocol';
import { Channel, constantSnr } from '../channel/index.js';
import { relayFragment } from './relay.js';

const meta: FrameMeta = { deviceId: 7, sessionId: 3, frameId: 42, actionId: 2, kbVersion: 5, kbEntry: 9, endOfSession: true, timestampUs: 1_700_000_000_000_000 };

function ramp(n: number): Float32Array {
  return Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i) * 0.9);
}

describe('relayFragment', () => {
  it('relays each dtype as a float32 frame with the same header fields and the noise of the set SNR', () => {
    for (const dtype of ['float32', 'float16', 'int8'] as const) {
      const channel = new Channel({ snr: constantSnr(20) }, seededRandom(1));
      const values = ramp(4000);
      const [fragment] = fragmentSymbols(meta, values, { mtu: 1 << 16, dtype });
      const out = relayFragment(channel, 'cam-1', fragment!, 0);
      if (out.kind !== 'relayed') throw new Error(out.kind);
      const rx = decodeFrame(out.bytes);
      const { version: _v, dtype: d, scale, payloadLength: _p, ...same } = rx.header;
      const { version: _v2, dtype: _d2, scale: _s2, payloadLength: _p2, ...sent } = out.header;
      expect(same).toEqual(sent);
      expect([d, scale]).toEqual(['float32', 1]);
      expect(unpackSymbols(rx.payload, 'float32', 1)).toEqual(out.values);
      // What was sent, as the sender's dtype carried it, against what arrived.
      const sentValues = unpackSymbols(decodeFrame(fragment!).payload, dtype, out.header.scale);
      expect(Math.abs(measureSnrDb(sentValues, out.values) - 20 - 10 * Math.log10(averagePower(sentValues)))).toBeLessThan(0.3);
    }
  });

  it('reports malformed messages by their protocol code and never throws', () => {
    const channel = new Channel({ snr: constantSnr(10) }, seededRandom(2));
    const [good] = fragmentSymbols(meta, ramp(8), { mtu: 512, dtype: 'int8' });
    const badCrc = good!.slice();
    badCrc[60] = badCrc[60]! ^ 0xff;
    const cases: [string, Uint8Array, string][] = [
      ['random bytes', Uint8Array.from({ length: 100 }, (_, i) => (i * 151 + 7) & 0xff), 'BAD_MAGIC'],
      ['truncated', good!.subarray(0, 40), 'TRUNCATED'],
      ['truncated payload', good!.subarray(0, good!.length - 5), 'TRUNCATED'],
      ['bad CRC', badCrc, 'CRC_MISMATCH'],
      ['empty', new Uint8Array(0), 'TRUNCATED'],
    ];
    for (const [what, bytes, code] of cases) {
      const out = relayFragment(channel, 'cam-1', bytes, 0);
      expect({ what, kind: out.kind, code: out.kind === 'malformed' ? out.error.code : undefined }).toEqual({ what, kind: 'malformed', code });
    }
  });

  it('reports a lost fragment with its header and keeps an empty end-of-session frame', () => {
    const lossy = new Channel({ snr: constantSnr(10), loss: { p: 1, r: 0, lossBad: 1, lossGood: 1 } }, seededRandom(3));
    const [f] = fragmentSymbols(meta, ramp(2), { mtu: 512, dtype: 'float32' });
    const lost = relayFragment(lossy, 'd', f!, 0);
    expect(lost).toMatchObject({ kind: 'lost', device: 'd', header: { frameId: 42 }, snrDb: 10 });
    const empty = encodeFrame({ ...meta, kbEntry: 0, hasKbEntry: false, endOfSession: true, dtype: 'float32', fragmentIndex: 0, fragmentCount: 1, totalSymbols: 0, symbolOffset: 0, scale: 1 }, new Uint8Array(0));
    const out = relayFragment(new Channel({ snr: constantSnr(10) }, seededRandom(1)), 'd', empty, 0);
    expect(out.kind).toBe('relayed');
    if (out.kind === 'relayed') expect(decodeFrame(out.bytes).header).toMatchObject({ endOfSession: true, totalSymbols: 0 });
  });
});

function averagePower(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return s / (v.length / 2);
}
