/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init 0xFFFFFFFF, final xor 0xFFFFFFFF; the check
 * value of the ASCII bytes "123456789" is 0xE3069283. Chosen over CRC-32 (IEEE) for its better error
 * detection on short messages and because radios and SDR stacks often compute it in hardware.
 *
 * Slicing-by-8 in plain JS: no native addon and no Node API, so the protocol package stays usable anywhere.
 */

const POLY = 0x82f63b78;

/** Eight 256-entry tables; table k advances a byte k positions further through the register. */
const TABLES: Int32Array = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/**
 * CRC-32C of `bytes`. `seed` is a previous result, so `crc32c(b, crc32c(a))` equals the CRC of `a`
 * followed by `b`; leave it out for a fresh CRC. Returns an unsigned 32-bit integer.
 */
export function crc32c(bytes: Uint8Array, seed = 0): number {
  const t = TABLES;
  let c = ~seed;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = t[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
