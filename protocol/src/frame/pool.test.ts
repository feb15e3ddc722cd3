import { describe, expect, it } from 'vitest';
import { allocBytes, allocBytesUnfilled } from './pool.js';

describe('allocBytes', () => {
  it('hands out zero-filled, 8-byte aligned, non-overlapping arrays across slab boundaries', () => {
    const arrays = Array.from({ length: 500 }, (_, i) => allocBytes(1 + ((i * 37) % 3000)));
    for (const a of arrays) {
      expect(a.every((b) => b === 0)).toBe(true);
      expect(a.byteOffset % 8).toBe(0);
      a.fill(0xab);
    }
    // Writing every array never touched another one.
    for (const a of arrays) expect(a.every((b) => b === 0xab)).toBe(true);
  });

  it('gives large arrays their own buffer', () => {
    const big = allocBytes(64 * 1024);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(64 * 1024);
  });

  it('carves large unfilled arrays from shared slabs without overlap, and gives the largest their own buffer', () => {
    const arrays = Array.from({ length: 40 }, (_, i) => allocBytesUnfilled(4097 + ((i * 7919) % 60000)));
    for (const [i, a] of arrays.entries()) {
      expect(a.byteOffset % 8).toBe(0);
      a.fill(i);
    }
    for (const [i, a] of arrays.entries()) expect(a.every((b) => b === i)).toBe(true);
    expect(arrays.some((a) => a.buffer === arrays[0]!.buffer && a !== arrays[0])).toBe(true);
    expect(allocBytesUnfilled(64 * 1024 + 1).byteOffset).toBe(0);
    expect(allocBytesUnfilled(100).every((b) => b === 0)).toBe(true);
  });
});
