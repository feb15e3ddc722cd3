/**
 * bench/package: what the issue asks measured about bundles, each part with its own same-run baseline.
 * - build.ts: bundle size per profile with and without the Node runtime, packaging time against gzip of
 *   the same payload;
 * - install.ts: install time against a durable copy of the same files, and the time from a failed health
 *   check to the old slot running again against a plain start of that slot;
 * - qemu.ts: encode latency of the arm64 bundle under qemu-user against the x64 run of the same bundle
 *   (skipped, with the reason, where qemu-user-static or the sysroot is missing).
 */
import { runPackageBuildBench } from './build.js';
import { runPackageInstallBench } from './install.js';
import { runPackageQemuBench } from './qemu.js';

export async function runPackageBench(): Promise<object> {
  return { build: await runPackageBuildBench(), install: await runPackageInstallBench(), qemu: await runPackageQemuBench() };
}
