/** Bundles: writing, reading and verifying the signed archive of toolkit/flash/README.md. */
export { writeBundle, type BundleInput, type WriteBundleOptions, type WrittenBundle } from './write.js';
export { readBundle, type BundleHeader, type BundleSink, type ReadBundleOptions } from './read.js';
export { DEFAULT_BUNDLE_LIMITS, FORMAT_LIMITS, describeLimits, resolveLimits, type BundleLimits } from './limits.js';
export { bundleCreatedTime } from './created.js';
export { type BundleErrorCode } from './errors.js';
export { type SignatureStatus } from './signature.js';
export { comparePaths, payloadMember } from './manifest.js';
