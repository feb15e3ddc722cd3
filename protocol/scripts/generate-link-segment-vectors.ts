/**
 * Writes the golden vectors of the compact link profile to protocol/vectors/link-segment:
 *   segments.json     two v1 frames and their packets at MTU 16, 58 and 255 (short and wide forms);
 *   invalid.json      single packets a receiver must refuse, with the error code;
 *   desegmenter.json  packet sequences and what a receiver does with each packet.
 * Everything is fixed, so running it again gives byte-identical files; a test checks that.
 *
 *   npx tsx protocol/scripts/generate-link-segment-vectors.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeFrame, packSymbols } from '../src/frame/index.js';
import { crc16CcittFalse, encodeSegment, segmentFrame } from '../src/link-segment/index.js';
import { buildFrameVectors } from './generate-frame-vectors.js';

export const LINK_SEGMENT_VECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'link-segment');

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The 68-byte int8 frame of vectors/frames/03-int8.bin. */
function int8Frame(): Uint8Array {
  const v = buildFrameVectors().find((f) => f.name === '03-int8');
  if (v === undefined) throw new Error('frame vector 03-int8 is missing');
  return v.bin;
}

/** A 2,460-byte int8 frame of 1,200 symbols (a pattern, no randomness): 352 packets at MTU 16, the wide form. */
function largeFrame(): Uint8Array {
  const values = new Float32Array(2400);
  for (let i = 0; i < values.length; i++) values[i] = ((i * 37) % 255) - 127;
  const { payload, scale } = packSymbols(values, 'int8');
  return encodeFrame(
    {
      dtype: 'int8',
      scale,
      totalSymbols: 1200,
      hasKbEntry: false,
      endOfSession: false,
      actionId: 5,
      deviceId: 0x0000a1b2,
      sessionId: 0x5e55_1011,
      frameId: 21,
      fragmentIndex: 0,
      fragmentCount: 1,
      kbVersion: 12,
      kbEntry: 0,
      symbolOffset: 0,
      timestampUs: 1_767_225_600_000_000,
    },
    payload,
  );
}

/** Builds a packet by hand (any byte 0, any fields), with a valid CRC-16 unless `crc` is given. */
function raw(fields: number[], crc?: number): Uint8Array {
  const body = Uint8Array.from(fields);
  const c = crc ?? crc16CcittFalse(body);
  return Uint8Array.from([...body, c >> 8, c & 0xff]);
}

function segmentsJson(): unknown {
  const frames = [
    { name: 'int8-68', description: 'vectors/frames/03-int8.bin (68 bytes), seq 0x1234', seq: 0x1234, frame: int8Frame() },
    { name: 'int8-2460', description: 'a 2,460-byte int8 frame of 1,200 symbols, seq 65535: wide form at MTU 16', seq: 0xffff, frame: largeFrame() },
  ];
  return {
    description: 'v1 frames and their link packets: the packets are exactly what a sender writes for this frame, MTU and seq',
    frames: frames.map((f) => ({
      name: f.name,
      description: f.description,
      seq: f.seq,
      frame: hex(f.frame),
      segmentations: [16, 58, 255].map((mtu) => ({ mtu, packets: segmentFrame(f.frame, { mtu, seq: f.seq }).map(hex) })),
    })),
  };
}

function invalidJson(): unknown {
  const good = segmentFrame(int8Frame(), { mtu: 58, seq: 0x1234 })[0]!;
  const flipped = good.slice();
  flipped[10] = flipped[10]! ^ 0x04;
  const cases: [string, string, Uint8Array, string][] = [
    ['truncated', '6 bytes: shorter than the 7-byte minimum', Uint8Array.from([0x10, 0x34, 0x12, 0, 0, 0xaa]), 'TRUNCATED'],
    ['bad-crc', 'segment 0 at MTU 58 with one payload bit flipped', flipped, 'CRC_MISMATCH'],
    ['bad-crc-byte-order', 'a valid packet whose CRC is written little-endian', raw([0x10, 0x01, 0x00, 0x00, 0x00, 0xab], ((c) => ((c & 0xff) << 8) | (c >> 8))(crc16CcittFalse(Uint8Array.from([0x10, 0x01, 0x00, 0x00, 0x00, 0xab])))), 'CRC_MISMATCH'],
    ['unsupported-version', 'version nibble 2, with a valid CRC', raw([0x20, 0x01, 0x00, 0x00, 0x00, 0xab]), 'UNSUPPORTED_VERSION'],
    ['reserved-flag', 'flag bit 1 set, with a valid CRC', raw([0x12, 0x01, 0x00, 0x00, 0x00, 0xab]), 'BAD_HEADER'],
    ['wide-truncated', 'wide flag but only 8 bytes, with a valid CRC', raw([0x11, 0x01, 0x00, 0x00, 0x00, 0x00]), 'TRUNCATED'],
    ['index-past-last', 'segment index 3 of last index 2, with a valid CRC', raw([0x10, 0x01, 0x00, 0x03, 0x02, 0xab]), 'BAD_FRAGMENT'],
    ['wide-index-past-last', 'wide: index 0x0100 of last index 0x00ff, with a valid CRC', raw([0x11, 0x01, 0x00, 0x00, 0x01, 0xff, 0x00, 0xab]), 'BAD_FRAGMENT'],
    ['empty-segment', 'no payload in a frame of 2 segments, with a valid CRC', raw([0x10, 0x01, 0x00, 0x00, 0x01]), 'BAD_LENGTH'],
    ['too-large', 'a 4,096-byte packet (the largest is 4,095)', encodeOversized(), 'TOO_LARGE'],
  ];
  return {
    description: 'single link packets a receiver refuses, with the code it reports (checked in the order of PROTOCOL.md)',
    packets: cases.map(([name, description, packet, error]) => ({ name, description, packet: hex(packet), error })),
  };
}

function encodeOversized(): Uint8Array {
  const fields = new Uint8Array(4094);
  fields.set([0x10, 0x01, 0x00, 0x00, 0x00]);
  return raw(Array.from(fields));
}

function desegmenterJson(): unknown {
  const frame = int8Frame();
  const p = segmentFrame(frame, { mtu: 16, seq: 7 }).map(hex); // 8 packets, 9 bytes each but the last (5)
  const q = segmentFrame(frame, { mtu: 58, seq: 8 }).map(hex); // 2 packets
  const other = hex(encodeSegment({ seq: 7, index: 1, lastIndex: 2, payload: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) }));
  const changed = hex(encodeSegment({ seq: 7, index: 1, lastIndex: 7, payload: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) }));
  const shorter = hex(encodeSegment({ seq: 7, index: 2, lastIndex: 7, payload: Uint8Array.from([1, 2, 3, 4]) }));
  const f = hex(frame);
  const options = { maxFrameBytes: 4096, maxPending: 4, timeoutMs: 1000 };
  const steps = (list: [string, object][]): { packet: string; expect: object }[] => list.map(([packet, expect]) => ({ packet, expect }));
  return {
    description:
      'packet sequences given to a fresh receiver with these options (no time passes); expect per packet: {} stored or ignored, {"frame": hex} delivered, {"error": code} refused',
    sequences: [
      {
        name: 'out-of-order-with-duplicates',
        description: 'the 8 packets of vectors/frames/03-int8.bin at MTU 16 in the order 7,3,0,3,5,1,6,2,4 (3 twice), then 0 again after delivery',
        options,
        steps: steps([[p[7]!, {}], [p[3]!, {}], [p[0]!, {}], [p[3]!, {}], [p[5]!, {}], [p[1]!, {}], [p[6]!, {}], [p[2]!, {}], [p[4]!, { frame: f }], [p[0]!, {}]]),
      },
      {
        name: 'interleaved-frames',
        description: 'two frames (seq 7 at MTU 16, seq 8 at MTU 58) interleaved',
        options,
        steps: steps([[q[1]!, {}], ...p.slice(0, 7).map((x): [string, object] => [x, {}]), [q[0]!, { frame: f }], [p[7]!, { frame: f }]]),
      },
      {
        name: 'inconsistent',
        description: 'seq 7 segment 0 of 8, then a segment of seq 7 claiming 3 segments, one repeating index 0 with other bytes (a different frame), one of 4 bytes before the last',
        options,
        steps: steps([
          [p[0]!, {}],
          [other, { error: 'INCONSISTENT_FRAGMENT' }],
          [hex(encodeSegment({ seq: 7, index: 0, lastIndex: 7, payload: Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9, 9]) })), { error: 'INCONSISTENT_FRAGMENT' }],
          [shorter, { error: 'INCONSISTENT_FRAGMENT' }],
          [changed, {}],
        ]),
      },
      {
        name: 'too-large',
        description: 'maxFrameBytes 60: segment 0 of 8 at 9 bytes each means at least 64 bytes',
        options: { ...options, maxFrameBytes: 60 },
        steps: steps([[p[0]!, { error: 'TOO_LARGE' }]]),
      },
    ],
  };
}

/** Every vector file: name and content. */
export function buildLinkSegmentVectors(): { name: string; json: string }[] {
  const files: [string, unknown][] = [
    ['segments.json', segmentsJson()],
    ['invalid.json', invalidJson()],
    ['desegmenter.json', desegmenterJson()],
  ];
  return files.map(([name, value]) => ({ name, json: `${JSON.stringify(value, null, 2)}\n` }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  mkdirSync(LINK_SEGMENT_VECTOR_DIR, { recursive: true });
  for (const v of buildLinkSegmentVectors()) writeFileSync(join(LINK_SEGMENT_VECTOR_DIR, v.name), v.json);
  console.log(`wrote ${LINK_SEGMENT_VECTOR_DIR}`);
}
