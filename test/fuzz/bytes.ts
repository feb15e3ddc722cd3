/** Byte helpers of the stream-parser fuzz suites. */

/** Splits `bytes` at the given cut points (taken modulo its length + 1; repeats count once): a stream cut anywhere. */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}
