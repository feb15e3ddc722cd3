/**
 * OtaGet's bitmap must decode to exactly ceil(count/8) bytes: checked on the decoded length, for every
 * base64 padding case (no padding: 3k bytes, "=": 3k+2, "==": 3k+1), every count from 1 to the window limit.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../messages.js';
import { OTA_MAX_WINDOW } from './ota.js';

const get = (count: number, bitmap: string): string => JSON.stringify({ v: 1, transfer: 't-1', index: 0, count, bitmap });

describe('OtaGet bitmap length', () => {
  it('accepts a bitmap of exactly ceil(count/8) bytes for every count, whatever the padding', () => {
    for (let count = 1; count <= OTA_MAX_WINDOW; count++) {
      const bitmap = Buffer.alloc(Math.ceil(count / 8), 0).toString('base64');
      expect(decodeMessage('ota-get', get(count, bitmap)).bitmap, `count ${count}`).toBe(bitmap);
    }
  });

  it('refuses one byte more or one byte fewer, for every count and padding case', () => {
    for (let count = 1; count <= OTA_MAX_WINDOW; count++) {
      const want = Math.ceil(count / 8);
      // Thrown: bitmaps decoding to want-1 and want+1 bytes (the text lengths differ by padding only at times).
      for (const bytes of [want - 1, want + 1]) {
        if (bytes === 0) continue;
        const bitmap = Buffer.alloc(bytes, 0).toString('base64');
        expect(() => decodeMessage('ota-get', get(count, bitmap)), `count ${count}, ${bytes} bytes`).toThrow(/bitmap/);
      }
    }
  });

  it('tells apart texts of equal length by their padding', () => {
    // Thrown: "AAAA" (3 bytes) and "AAA=" (2 bytes) and "AA==" (1 byte) for counts that need another length.
    expect(() => decodeMessage('ota-get', get(16, 'AAAA'))).toThrow(/bitmap/);
    expect(decodeMessage('ota-get', get(16, 'AAA=')).count).toBe(16);
    expect(() => decodeMessage('ota-get', get(17, 'AAA='))).toThrow(/bitmap/);
    expect(decodeMessage('ota-get', get(17, 'AAAA')).count).toBe(17);
    expect(decodeMessage('ota-get', get(8, 'AA==')).count).toBe(8);
    expect(() => decodeMessage('ota-get', get(9, 'AA=='))).toThrow(/bitmap/);
  });
});
