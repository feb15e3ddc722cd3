/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init 0xFFFFFFFF, final xor 0xFFFFFFFF; the check
 * value of the ASCII bytes "123456789" is 0xE3069283. Chosen over CRC-32 (IEEE) for its better error
 * detection on short messages and because radios and SDR stacks often compute it in hardware.
 *
 * Two implementations with one result: slicing-by-8 in plain JS, usable anywhere (a browser, onnxruntime-web
 * targets), and the optional native addon `@node-rs/crc32` (SSE4.2 / ARMv8 CRC instructions, prebuilt for
 * x64, arm64 and armv7), about 30x faster on 16 KiB frames. The CRC is the codec's main cost, so the
 * native one is used where it loads; AKB_CRC32C=js forces the JS one.
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
export function crc32cJs(bytes: Uint8Array, seed = 0): number {
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

type Crc32cFn = (bytes: Uint8Array, seed?: number) => number;

async function loadNative(): Promise<Crc32cFn | undefined> {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.AKB_CRC32C === 'js') return undefined;
  try {
    const mod = (await import('@node-rs/crc32')) as { crc32c?: (input: Uint8Array, initial?: number) => number };
    const fn = mod.crc32c;
    // Trust it only if it gives the check value.
    if (typeof fn !== 'function' || fn(new TextEncoder().encode('123456789')) !== 0xe3069283) return undefined;
    return (bytes, seed = 0) => fn(bytes, seed) >>> 0;
  } catch {
    return undefined;
  }
}

const native: Crc32cFn | undefined = await loadNative();

/** Below this size the JS loop beats the cost of calling into the addon. */
const NATIVE_MIN_BYTES = 128;

/** Which implementation `crc32c` uses for large inputs: 'native' or 'js'. */
export const crc32cBackend: 'native' | 'js' = native ? 'native' : 'js';

/**
 * CRC-32C of `bytes`, by the fastest implementation available. `seed` is a previous result, so
 * `crc32c(b, crc32c(a))` equals the CRC of `a` followed by `b`. Returns an unsigned 32-bit integer.
 */
export function crc32c(bytes: Uint8Array, seed = 0): number {
  return native !== undefined && bytes.length >= NATIVE_MIN_BYTES ? native(bytes, seed) : crc32cJs(bytes, seed);
}
