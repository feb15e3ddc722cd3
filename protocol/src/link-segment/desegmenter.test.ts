import { describe, expect, it } from 'vitest';
import { AkbError } from '../errors.js';
import { Desegmenter, type DesegmenterOptions } from './desegmenter.js';
import { encodeSegment, segmentFrame } from './segment.js';

const bytes = (n: number, salt = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7 + salt) & 0xff);

function make(o: Partial<DesegmenterOptions> = {}): { d: Desegmenter; clock: { t: number } } {
  const clock = { t: 1000 };
  const d = new Desegmenter({ maxFrameBytes: 10_000, maxPending: 4, timeoutMs: 500, now: () => clock.t, ...o });
  return { d, clock };
}

describe('Desegmenter', () => {
  it('delivers a frame once its segments arrived in order', () => {
    const { d } = make();
    const frame = bytes(100);
    const out = segmentFrame(frame, { mtu: 16, seq: 1 }).map((p) => d.push(p));
    expect(out.slice(0, -1).every((r) => r.frame === undefined && r.error === undefined)).toBe(true);
    expect(out.at(-1)!.frame).toEqual(frame);
    expect(d.stats).toMatchObject({ packets: 12, segments: 12, frames: 1, pending: 0, duplicates: 0 });
  });

  it('delivers out of order, ignores duplicates before and after delivery', () => {
    const { d } = make();
    const frame = bytes(60);
    const p = segmentFrame(frame, { mtu: 20, seq: 9 }); // 5 packets of 13 bytes, the last 8
    expect(d.push(p[4]!)).toEqual({});
    expect(d.push(p[2]!)).toEqual({});
    expect(d.push(p[2]!)).toEqual({});
    expect(d.push(p[0]!)).toEqual({});
    expect(d.push(p[3]!)).toEqual({});
    expect(d.push(p[1]!).frame).toEqual(frame);
    expect(d.push(p[0]!)).toEqual({});
    expect(d.push(p[4]!)).toEqual({});
    expect(d.stats).toMatchObject({ frames: 1, duplicates: 3, pending: 0 });
  });

  it('keeps segments of interleaved frames apart', () => {
    const { d } = make();
    const a = bytes(40, 1);
    const b = bytes(45, 2);
    const pa = segmentFrame(a, { mtu: 16, seq: 100 });
    const pb = segmentFrame(b, { mtu: 16, seq: 101 });
    const got: Uint8Array[] = [];
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      for (const p of [pb[i], pa[i]]) if (p) got.push(...[d.push(p).frame].filter((f): f is Uint8Array => f !== undefined));
    }
    expect(got).toEqual([b, a]); // both complete at their fifth segment, b's pushed first
  });

  it('drops a frame idle for timeoutMs and counts its missing segments; a new segment keeps it alive', () => {
    const { d, clock } = make();
    const p = segmentFrame(bytes(50), { mtu: 16, seq: 4 }); // 6 packets
    d.push(p[0]!);
    clock.t += 400;
    d.push(p[1]!);
    clock.t += 400; // 800 ms after the first segment, 400 after the last one: still pending
    expect(d.expire()).toBe(0);
    expect(d.stats.pending).toBe(1);
    clock.t += 100;
    expect(d.expire()).toBe(1);
    expect(d.stats).toMatchObject({ pending: 0, expired: 1, missingSegments: 4 });
  });

  it('expires each frame by its own last activity, whatever order frames started in', () => {
    const { d, clock } = make();
    const a = segmentFrame(bytes(30, 1), { mtu: 16, seq: 1 });
    const b = segmentFrame(bytes(30, 2), { mtu: 16, seq: 2 });
    d.push(a[0]!);
    clock.t += 100;
    d.push(b[0]!);
    clock.t += 100;
    d.push(a[1]!); // a was active last
    clock.t += 350; // b idle 450 ms, a 350 ms
    expect(d.expire()).toBe(0);
    clock.t += 50; // b idle 500 ms
    expect(d.expire()).toBe(1);
    expect(d.stats.pending).toBe(1);
    expect(d.push(a[2]!)).toEqual({});
    expect(d.push(a[3]!).frame).toEqual(bytes(30, 1));
  });

  it('does not let duplicates keep an incomplete frame alive', () => {
    const { d, clock } = make();
    const p = segmentFrame(bytes(50), { mtu: 16, seq: 4 });
    d.push(p[0]!);
    for (let i = 0; i < 4; i++) {
      clock.t += 100;
      d.push(p[0]!);
    }
    clock.t += 100; // 500 ms after the only new segment
    expect(d.expire()).toBe(1);
    expect(d.stats).toMatchObject({ pending: 0, expired: 1, duplicates: 4 });
  });

  it('evicts the least recently active frame beyond maxPending', () => {
    const { d, clock } = make({ maxPending: 2 });
    const seg = (seq: number, index: number): Uint8Array => segmentFrame(bytes(20, seq), { mtu: 16, seq })[index]!; // 3 segments
    d.push(seg(1, 0));
    clock.t += 1;
    d.push(seg(2, 0));
    clock.t += 1;
    d.push(seg(1, 1)); // frame 1 is now the more recent
    clock.t += 1;
    d.push(seg(3, 0)); // evicts frame 2
    expect(d.stats).toMatchObject({ pending: 2, evicted: 1, missingSegments: 2 });
    expect(d.push(seg(1, 2)).frame).toEqual(bytes(20, 1));
    expect(d.push(seg(3, 1))).toEqual({});
  });

  it('refuses a frame larger than maxFrameBytes before storing anything', () => {
    const { d } = make({ maxFrameBytes: 100 });
    const p = segmentFrame(bytes(207), { mtu: 16, seq: 5 }); // 23 segments of 9 bytes
    expect(d.push(p[0]!).error?.code).toBe('TOO_LARGE'); // at least 22 x 9 + 1 bytes
    expect(d.push(p[22]!).error?.code).toBe('TOO_LARGE'); // the last alone: 23 segments of at least its 9 bytes
    expect(d.stats).toMatchObject({ tooLarge: 2, pending: 0, segments: 0 });
    // A claimed count alone can be too large: 65536 segments of at least 1 byte.
    expect(d.push(encodeSegment({ seq: 6, index: 65535, lastIndex: 65535, payload: bytes(1) })).error?.code).toBe('TOO_LARGE');
  });

  it('drops a pending frame once a later segment shows it too large', () => {
    const { d } = make({ maxFrameBytes: 100 });
    const p = segmentFrame(bytes(200), { mtu: 16, seq: 5 }); // 23 segments: 22 of 9 bytes, the last of 2
    expect(d.push(p[22]!)).toEqual({}); // alone it could be a 46-byte frame
    expect(d.stats.pending).toBe(1);
    expect(d.push(p[3]!).error?.code).toBe('TOO_LARGE');
    expect(d.stats).toMatchObject({ pending: 0, tooLarge: 1, missingSegments: 22 });
  });

  it('accepts exactly maxFrameBytes', () => {
    const { d } = make({ maxFrameBytes: 100 });
    const frame = bytes(100);
    const got = segmentFrame(frame, { mtu: 16, seq: 5 }).map((p) => d.push(p));
    expect(got.at(-1)!.frame).toEqual(frame);
  });

  it('refuses segments that contradict their frame, and keeps what it had', () => {
    const { d } = make();
    const frame = bytes(40);
    const p = segmentFrame(frame, { mtu: 16, seq: 7 }); // 5 segments: 9,9,9,9,4 bytes
    d.push(p[0]!);
    const bad = [
      encodeSegment({ seq: 7, index: 1, lastIndex: 5, payload: bytes(9) }), // another count
      encodeSegment({ seq: 7, index: 1, lastIndex: 4, wide: true, payload: bytes(9) }), // the other form
      encodeSegment({ seq: 7, index: 0, lastIndex: 4, payload: bytes(9, 5) }), // index 0 again, other bytes
      encodeSegment({ seq: 7, index: 1, lastIndex: 4, payload: bytes(8) }), // shorter than segment 0
      encodeSegment({ seq: 7, index: 4, lastIndex: 4, payload: bytes(10) }), // last longer than the others
    ];
    for (const b of bad) expect(d.push(b).error?.code).toBe('INCONSISTENT_FRAGMENT');
    expect(d.stats.inconsistent).toBe(5);
    const rest = p.slice(1).map((x) => d.push(x));
    expect(rest.at(-1)!.frame).toEqual(frame);
  });

  it('refuses a middle segment shorter than a last segment that came first', () => {
    const { d } = make();
    d.push(encodeSegment({ seq: 3, index: 2, lastIndex: 2, payload: bytes(6) }));
    expect(d.push(encodeSegment({ seq: 3, index: 0, lastIndex: 2, payload: bytes(5) })).error?.code).toBe('INCONSISTENT_FRAGMENT');
  });

  it('takes a reused sequence number with another count as a new frame once the old one was delivered', () => {
    const { d } = make();
    const a = bytes(20);
    const b = bytes(30, 3);
    for (const p of segmentFrame(a, { mtu: 16, seq: 1 })) d.push(p); // 3 segments
    const got = segmentFrame(b, { mtu: 16, seq: 1 }).map((p) => d.push(p)); // 4 segments
    expect(got.at(-1)!.frame).toEqual(b);
  });

  it('counts hostile packets by reason and never throws, whatever it is given', () => {
    const { d } = make();
    const good = segmentFrame(bytes(30), { mtu: 16, seq: 2 })[0]!;
    const flipped = good.slice();
    flipped[6] = flipped[6]! ^ 0x80;
    expect(d.push(flipped).error?.code).toBe('CRC_MISMATCH');
    expect(d.push(new Uint8Array(3)).error?.code).toBe('TRUNCATED');
    expect(d.push(new Uint8Array(5000)).error?.code).toBe('TOO_LARGE');
    for (const junk of [null, undefined, 42, 'text', {}, [1, 2, 3]]) {
      expect(d.push(junk as Uint8Array).error?.code).toBe('BAD_LENGTH');
    }
    expect(d.stats).toMatchObject({ packets: 9, badCrc: 1, badHeader: 7, tooLarge: 1, pending: 0 });
  });

  it('refuses options out of range with INVALID_OPTION', () => {
    for (const o of [{ maxFrameBytes: 0 }, { maxPending: 0 }, { timeoutMs: 0 }, { timeoutMs: Number.NaN }, { maxFrameBytes: 2 ** 29 }]) {
      let thrown: unknown;
      try {
        make(o);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(AkbError);
      expect((thrown as AkbError).code).toBe('INVALID_OPTION');
    }
  });
});
