/** Timing helpers shared by the benchmarks. */

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Ops per second of `op` over about `ms` milliseconds; `op` returns a number so its work cannot be dropped. */
export function measure(op: () => number, ms: number, sink: { v: number }): number {
  let ops = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) sink.v += op();
    ops += batch;
    elapsed = performance.now() - start;
    if (elapsed < ms / 20) batch *= 2;
  }
  return (ops * 1000) / elapsed;
}
