import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { decodeFrame } from '../frame/index.js';
import { buildLinkSegmentVectors, LINK_SEGMENT_VECTOR_DIR } from '../../scripts/generate-link-segment-vectors.js';
import { Desegmenter } from './desegmenter.js';
import { decodeSegment, segmentFrame } from './segment.js';

const load = <T>(name: string): T => JSON.parse(readFileSync(join(LINK_SEGMENT_VECTOR_DIR, name), 'utf8')) as T;
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

interface SegmentsJson {
  frames: { name: string; seq: number; frame: string; segmentations: { mtu: number; packets: string[] }[] }[];
}
interface InvalidJson {
  packets: { name: string; packet: string; error: string }[];
}
interface DesegmenterJson {
  sequences: {
    name: string;
    options: { maxFrameBytes: number; maxPending: number; timeoutMs: number };
    steps: { packet: string; expect: { frame?: string; error?: string } }[];
  }[];
}

describe('link-segment golden vectors', () => {
  const segments = load<SegmentsJson>('segments.json');
  const invalid = load<InvalidJson>('invalid.json');
  const sequences = load<DesegmenterJson>('desegmenter.json');

  it('cover MTU 16, 58 and 255, both header forms, and the required errors', () => {
    for (const f of segments.frames) expect(f.segmentations.map((s) => s.mtu)).toEqual([16, 58, 255]);
    const firstBytes = segments.frames.flatMap((f) => f.segmentations.map((s) => s.packets[0]!.slice(0, 2)));
    expect(new Set(firstBytes)).toEqual(new Set(['10', '11']));
    const codes = invalid.packets.map((p) => p.error);
    for (const c of ['CRC_MISMATCH', 'TRUNCATED', 'UNSUPPORTED_VERSION', 'BAD_HEADER', 'BAD_FRAGMENT', 'BAD_LENGTH', 'TOO_LARGE']) expect(codes).toContain(c);
    expect(sequences.sequences.flatMap((s) => s.steps.map((x) => x.expect.error))).toContain('INCONSISTENT_FRAGMENT');
  });

  for (const f of segments.frames) {
    for (const s of f.segmentations) {
      it(`${f.name} at MTU ${s.mtu}: segmentFrame writes these packets and they join back to the frame`, () => {
        const frame = unhex(f.frame);
        expect(segmentFrame(frame, { mtu: s.mtu, seq: f.seq }).map((p) => Buffer.from(p).toString('hex'))).toEqual(s.packets);
        const parts = s.packets.map((h) => decodeSegment(unhex(h)));
        for (const p of parts) expect(p.seq).toBe(f.seq);
        expect(Buffer.concat(parts.map((p) => p.payload))).toEqual(Buffer.from(frame));
        expect(() => decodeFrame(frame)).not.toThrow();
      });
    }
  }

  it.each(invalid.packets.map((p) => [p.name, p] as const))('invalid packet %s is refused with its code', (_name, p) => {
    let thrown: unknown;
    try {
      decodeSegment(unhex(p.packet));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as ProtocolError).code).toBe(p.error);
  });

  it.each(sequences.sequences.map((s) => [s.name, s] as const))('sequence %s: the receiver does what each step expects', (_name, s) => {
    const d = new Desegmenter({ ...s.options, now: () => 0 });
    for (const step of s.steps) {
      const r = d.push(unhex(step.packet));
      expect({ frame: r.frame && Buffer.from(r.frame).toString('hex'), error: r.error?.code }).toEqual({ frame: step.expect.frame, error: step.expect.error });
    }
  });

  it('match what the generator builds (regeneration is byte-identical)', () => {
    for (const v of buildLinkSegmentVectors()) expect(readFileSync(join(LINK_SEGMENT_VECTOR_DIR, v.name), 'utf8')).toBe(v.json);
  });
});
