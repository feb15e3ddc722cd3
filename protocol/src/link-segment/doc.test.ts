/** PROTOCOL.md's link-profile section must agree with the code: the worked example and the figures. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crc16CcittFalse } from './crc16.js';
import { planSegments, segmentFrame } from './segment.js';

const doc = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Link profile: compact segmentation'), doc.indexOf('## Serial flashing'));
const frame = new Uint8Array(readFileSync(new URL('../../vectors/frames/03-int8.bin', import.meta.url)));

describe('PROTOCOL.md, link profile', () => {
  it('has the section', () => {
    expect(section.length).toBeGreaterThan(1000);
  });

  it('shows the first and last packets of 03-int8.bin at MTU 16 as segmentFrame writes them', () => {
    const block = /```\n([^`]+)```/.exec(section)![1]!.trim().split('\n');
    const packets = segmentFrame(frame, { mtu: 16, seq: 0x1234 });
    const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    expect(block.map((l) => l.replace(/[ |]/g, ''))).toEqual([hex(packets[0]!), hex(packets.at(-1)!)]);
    expect(packets).toHaveLength(8);
    expect(section).toContain(`${packets.reduce((n, p) => n + p.length, 0)} bytes on the link`);
  });

  it('states the CRC check value and the figures planSegments gives', () => {
    expect(section).toContain(`\`0x${crc16CcittFalse(new TextEncoder().encode('123456789')).toString(16).toUpperCase()}\``);
    expect(planSegments(572, 58)).toMatchObject({ segments: 12, wireBytes: 656 });
    expect(section).toContain('12 packets and\n656 bytes at MTU 58');
    expect(planSegments(572, 16)).toMatchObject({ segments: 64, wireBytes: 1020 });
    expect(section).toContain('64 packets and 1,020 bytes');
    expect(planSegments(572, 255)).toMatchObject({ segments: 3, wireBytes: 593 });
    expect(section).toContain('3 packets and 593 bytes');
    expect(section).toContain(`MTU 58: 51 of 58 bytes, ${((51 / 58) * 100).toFixed(1)} %`);
    expect(planSegments(68, 58)).toMatchObject({ segments: 2, wireBytes: 82 });
    expect(planSegments(65536 * 7, 16).segments).toBe(65536);
    expect(section).toContain('458,752 bytes');
  });
});
