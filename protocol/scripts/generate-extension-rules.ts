/**
 * Writes protocol/vectors/rules/frame-extensions.json: frames whose header extension area (protocol 1.3)
 * holds the RX_SNR extension, padding, unknown types or malformed entries, with the rxSnrDb a 1.3 receiver
 * reads (null: none). Every frame is valid (its CRC recomputed): extensions never make a frame invalid.
 *
 *   npx tsx protocol/scripts/generate-extension-rules.ts
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { crc32c, encodeFrame } from '../src/frame/index.js';

const BASE = {
  hasKbEntry: false, endOfSession: false, actionId: 3, deviceId: 0xa1b2, sessionId: 0x5e551011, frameId: 7, fragmentIndex: 0,
  fragmentCount: 1, kbVersion: 12, kbEntry: 0, symbolOffset: 0, timestampUs: 1_767_225_600_000_000, dtype: 'float32' as const,
  scale: 1, totalSymbols: 1,
};

const f32 = (v: number): number[] => [...new Uint8Array(new Float32Array([v]).buffer)];

/** A 64-byte-header frame of one symbol whose bytes 56..63 are `ext` (zero-padded) and flags byte `flags`. */
function withExtension(ext: number[], flags = 0x04): string {
  const bytes = encodeFrame({ ...BASE, headerLength: 64 }, new Uint8Array(new Float32Array([0.5, -0.5]).buffer));
  bytes[3] = flags;
  bytes.set(ext.slice(0, 8), 56);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  view.setUint32(bytes.length - 4, crc32c(bytes.subarray(0, bytes.length - 4)), true);
  return Buffer.from(bytes).toString('hex');
}

export function buildExtensionRules(): string {
  const cases: { name: string; hex: string; rxSnrDb: number | null }[] = [
    { name: 'RX_SNR 7.25 dB, then padding', hex: withExtension([1, 4, ...f32(7.25)]), rxSnrDb: 7.25 },
    { name: 'padding first, then RX_SNR -3.5 dB', hex: withExtension([0, 0, 1, 4, ...f32(-3.5)]), rxSnrDb: -3.5 },
    { name: 'an unknown type (9, 0 bytes) is skipped', hex: withExtension([9, 0, 1, 4, ...f32(12)]), rxSnrDb: 12 },
    { name: 'the flag is clear: the bytes are skipped unread (v1 forward compatibility)', hex: withExtension([1, 4, ...f32(7.25)], 0), rxSnrDb: null },
    { name: 'a length running past the header: the area is ignored', hex: withExtension([0, 0, 0, 1, 4, ...f32(7.25).slice(0, 3)]), rxSnrDb: null },
    { name: 'RX_SNR of length 2 is ignored', hex: withExtension([1, 2, 0, 0, 1, 1]), rxSnrDb: null },
    { name: 'RX_SNR NaN is ignored', hex: withExtension([1, 4, ...f32(Number.NaN)]), rxSnrDb: null },
    { name: 'RX_SNR beyond 100 dB is ignored', hex: withExtension([1, 4, ...f32(150)]), rxSnrDb: null },
    { name: 'a type byte with no room for its length at the end: the area is ignored', hex: withExtension([0, 0, 0, 0, 0, 0, 0, 1]), rxSnrDb: null },
  ];
  const doc = {
    description:
      'Protocol 1.3 frame header extensions. With flag bit 2 set, header bytes 56 up to the header length are padding bytes (type 0) and entries `type u8, length u8, value`; type 1 RX_SNR (length 4, f32 little-endian) is the receiver\'s measured channel SNR in dB. Unknown types are skipped; an RX_SNR of another length, not finite or beyond ±100 dB is ignored; the first RX_SNR counts; an area that does not parse is ignored whole. The frames are all valid; `rxSnrDb` is what a 1.3 receiver reads (null: none).',
    cases,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export const EXTENSION_RULES_FILE = new URL('../vectors/rules/frame-extensions.json', import.meta.url);

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(EXTENSION_RULES_FILE, buildExtensionRules());
  console.log('wrote vectors/rules/frame-extensions.json');
}
