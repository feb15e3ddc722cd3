/**
 * The limits a bundle reader enforces, bounded before anything is allocated. A reader runs on a 512 MiB
 * Pi Zero 2 W, so it streams: only the manifest (at most `maxManifestBytes`) and one 512-byte tar block at
 * a time are held in memory; a payload member flows through a hash into the sink in the chunks gunzip
 * makes. The defaults fit the largest bundle we build (a Jetson bundle with its 117 MB Node.js binary and
 * fp16 models, about 180 MB unpacked) with room to spare.
 */
import { AkbError } from '@akb/protocol';

export interface BundleLimits {
  /** Size of the `.akb` file itself (compressed), bytes. */
  maxBundleBytes: number;
  /** Size of `manifest.json`, bytes. */
  maxManifestBytes: number;
  /** Size of one payload member, bytes (checked from its tar header before a byte of it is read). */
  maxMemberBytes: number;
  /** Decompressed size of the whole tar, bytes: a gzip bomb stops here. */
  maxTotalBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = Object.freeze({
  maxBundleBytes: 1024 * MiB,
  maxManifestBytes: 8 * MiB,
  maxMemberBytes: 512 * MiB,
  maxTotalBytes: 2048 * MiB,
});

/** Fixed limits of the format itself (not configurable). */
export const FORMAT_LIMITS = Object.freeze({
  /** `akb-bundle` holds `akb-bundle 1\n`; anything longer is refused. */
  maxVersionBytes: 64,
  /** `manifest.sig` is a small JSON object. */
  maxSignatureBytes: 4096,
  /** Zero bytes tolerated after the two end-of-archive blocks (GNU tar pads to 10 KiB records). */
  maxTrailingZeroBytes: 64 * 1024,
});

/** `partial` over the defaults; every value must be a positive safe integer. */
export function resolveLimits(partial: Partial<BundleLimits> = {}): BundleLimits {
  const limits = { ...DEFAULT_BUNDLE_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new AkbError('BAD_OPTION', `bundle limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}

/** One line per limit, for `akb bundle verify --help`. */
export function describeLimits(limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): string[] {
  const mib = (n: number): string => `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;
  return [
    `bundle file at most ${mib(limits.maxBundleBytes)}`,
    `manifest.json at most ${mib(limits.maxManifestBytes)}`,
    `one payload member at most ${mib(limits.maxMemberBytes)}`,
    `whole archive unpacked at most ${mib(limits.maxTotalBytes)}`,
    `manifest.sig at most ${FORMAT_LIMITS.maxSignatureBytes} bytes`,
  ];
}
