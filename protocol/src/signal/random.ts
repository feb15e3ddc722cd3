/**
 * Seeded random sources for the channel models. Library code never calls Math.random: every model takes a
 * `RandomSource`, so a run repeats exactly from its seed and tests can check statistics deterministically.
 */

/** Uniform draws in [0, 1). */
export type RandomSource = () => number;

/** A small seeded generator (mulberry32, period 2^32), so a run can be repeated exactly. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller, one of the pair). */
export function gaussian(random: RandomSource): number {
  const u = 1 - random(); // (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A complex value as two numbers (real, imaginary). */
export interface Complex {
  re: number;
  im: number;
}

/** A circularly symmetric complex Gaussian draw CN(0, variance): each of re and im has variance/2. */
export function complexGaussian(random: RandomSource, variance = 1): Complex {
  // Both Box–Muller outputs from one pair of uniforms: independent, so one pair gives re and im.
  const u = 1 - random();
  const radius = Math.sqrt(-2 * Math.log(u) * (variance / 2));
  const angle = 2 * Math.PI * random();
  return { re: radius * Math.cos(angle), im: radius * Math.sin(angle) };
}

/**
 * A seed for a named sub-stream (e.g. one device of the emulator) from a base seed: FNV-1a over the name,
 * mixed with the seed. Each device then sees the same channel whatever other devices do meanwhile.
 */
export function deriveSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
