/**
 * Encode latency of the Raspberry Pi 5 bundle under qemu-user (its own arm64 Node.js, WASM backend)
 * against the x64 run of the same bundle with this machine's Node.js: the same three CIFAR-10 images as
 * test/package/qemu-arm64.test.ts, runs alternated (host, qemu, host, qemu) so drift of the shared machine
 * hits both. Per image, akb-edge's own `sent <name>: … <ms> ms` line (decode, model runs, framing); the
 * first image carries the models' first runs, so the steady figure is the median of the others. A ratio
 * for the record (emulation cost, not a board's speed). Needs qemu-user-static and .ci/qemu-sysroot.
 */
import { mkdirSync, mkdtempSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAedes } from '../../test/support/aedes.js';
import { findProgram, missingMessage } from '../../test/support/programs.js';
import { packageAndUnpack } from '../../test/package/bundle-slot.js';
import { PROOF_IMAGES, QEMU_TARGETS, ensureSysroot, repoRoot, runSlotEdge, type EdgeRun } from '../../test/package/qemu.js';

const ROUNDS = 2;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The per-image times akb-edge printed, in send order. */
function imageMs(run: EdgeRun): number[] {
  return [...run.stdout.matchAll(/^akb-edge: sent \S+: .* ([\d.]+) ms$/gm)].map((m) => Number(m[1]));
}

export async function runPackageQemuBench(): Promise<object> {
  const qemu = QEMU_TARGETS.arm64.qemu;
  if (findProgram(qemu) === undefined) return { skipped: missingMessage(qemu, 'qemu-user-static') };
  ensureSysroot('arm64');
  const work = mkdtempSync(join(tmpdir(), 'akb-bench-qemu-'));
  const broker = await startAedes();
  try {
    const images = join(work, 'images');
    mkdirSync(images);
    for (const name of PROOF_IMAGES) copyFileSync(join(repoRoot, 'models/samples/cifar10-test', name), join(images, name));
    const unpacked = await packageAndUnpack('rpi-5', 'akb-k256', work);
    const runs: Record<'host' | 'qemu', { first: number[]; steady: number[]; wall: number[] }> = {
      host: { first: [], steady: [], wall: [] },
      qemu: { first: [], steady: [], wall: [] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, runner] of [['host', { kind: 'host' }], ['qemu', { kind: 'qemu', arch: 'arm64' }]] as const) {
        const run = await runSlotEdge({ slot: unpacked.slot, runner, brokerUrl: broker.url, images, env: unpacked.env, timeoutMs: 300_000 });
        if (run.code !== 0) throw new Error(`${name} run exited ${run.code ?? run.signal}: ${run.stderr.trim().split('\n')[0]}`);
        const ms = imageMs(run);
        runs[name].first.push(ms[0]!);
        runs[name].steady.push(...ms.slice(1));
        runs[name].wall.push(run.ms);
      }
    }
    const figure = (r: (typeof runs)['host']) => ({
      firstImageMs: Math.round(median(r.first)),
      steadyImageMs: Math.round(median(r.steady)),
      wallMs: Math.round(median(r.wall)),
    });
    const host = figure(runs.host);
    const emulated = figure(runs.qemu);
    return {
      bundle: { profile: 'rpi-5', node: unpacked.summary.node, backend: 'onnxruntime-web-wasm', images: PROOF_IMAGES.length, rounds: ROUNDS },
      host,
      qemuArm64: emulated,
      ratio: {
        steadyImage: +(emulated.steadyImageMs / host.steadyImageMs).toFixed(2),
        firstImage: +(emulated.firstImageMs / host.firstImageMs).toFixed(2),
        wall: +(emulated.wallMs / host.wallMs).toFixed(2),
      },
    };
  } finally {
    await broker.close();
    rmSync(work, { recursive: true, force: true });
  }
}
