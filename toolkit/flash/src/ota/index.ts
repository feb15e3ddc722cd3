/**
 * The OTA sender (protocol/PROTOCOL.md, "OTA" and "Jobs"): a job runner that offers a bundle to devices in
 * waves and serves their block requests, the bundle's facts and block reads, and the wave plan.
 */
export { OtaJobRunner, type OtaJobOptions, type OtaJobStats } from './job-runner.js';
export { BlockReader, bundleInfo, type BundleInfo } from './bundle-source.js';
export { failureLimit, parseShare, planWaves, type WavePolicy } from './waves.js';
