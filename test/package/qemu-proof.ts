/**
 * The proof that a bundle runs on its board's CPU, on this x64 machine: package the profile's bundle
 * (bundle-slot.ts), unpack it verified into a folder, start its own ARM Node.js under qemu-user on
 * app/akb-edge.mjs with the bundled models and onnxruntime-web's WASM backend against an embedded broker,
 * and compare the frames on link/tx with the same bundle run by this machine's x64 Node.js.
 *
 * The symbols must be identical bytes: WebAssembly's float arithmetic is IEEE-754 with no fused
 * multiply-add and no relaxed SIMD in onnxruntime-web's build, so the same .wasm gives the same results on
 * any CPU (measured: 0 of 8 frames differ on arm64 and on armv7). The run is a few CIFAR-10 test images;
 * under qemu it took about a minute here, start-up included (no timing is asserted).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithProgram, startAedes, type AedesHandle } from '../support/index.js';
import { packageAndUnpack, type UnpackedSlot } from './bundle-slot.js';
import { PROOF_IMAGES, QEMU_TARGETS, compareFrames, ensureSysroot, repoRoot, runSlotEdge, type QemuArch } from './qemu.js';

export interface QemuProof {
  profile: string;
  arch: QemuArch;
  /** process.arch the bundle's Node.js reports. */
  nodeArch: string;
  set: string;
}

export function describeQemuProof(p: QemuProof): void {
  const target = QEMU_TARGETS[p.arch];
  describeWithProgram(target.qemu, 'qemu-user-static', `${p.profile} bundle under ${target.qemu}`, () => {
    let work: string;
    let images: string;
    let unpacked: UnpackedSlot;
    let broker: AedesHandle;
    beforeAll(async () => {
      ensureSysroot(p.arch);
      work = mkdtempSync(join(tmpdir(), `akb-qemu-${p.profile}-`));
      images = join(work, 'images');
      mkdirSync(images);
      for (const name of PROOF_IMAGES) copyFileSync(join(repoRoot, 'models/samples/cifar10-test', name), join(images, name));
      unpacked = await packageAndUnpack(p.profile, p.set, work);
      broker = await startAedes();
    }, 300_000);
    afterAll(async () => {
      await broker?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it(`carries its own ${p.arch} Node.js, which starts under ${target.qemu}`, () => {
      const paths = unpacked.manifest.files.map((f) => f.path);
      expect(paths).toContain('node/bin/node');
      expect(paths).toContain('app/akb-edge.mjs');
      expect(paths.filter((f) => f.endsWith('.wasm'))).toHaveLength(1);
      const r = spawnSync(target.qemu, ['-L', target.sysroot, join(unpacked.slot, 'node/bin/node'), '-p', 'process.arch + " " + process.version'], { encoding: 'utf8' });
      // If the bundle's Node.js cannot start, this says exactly why (qemu's or the loader's own line).
      expect(r.status, `${target.qemu} ${unpacked.slot}/node/bin/node: ${r.stderr || String(r.error)}`).toBe(0);
      expect(r.stdout.trim().split(' ')[0]).toBe(p.nodeArch);
    });

    it('encodes the images with the bundled models on WASM, the same symbols as the x64 run of the same bundle', async () => {
      // Without bin/akb-edge's memory flags (unpacked.nodeArgs): a 1 MB young generation made the run under
      // qemu 2.4x longer (133 s against 56 s here); they tune memory, not results, and both runs omit them.
      const common = { slot: unpacked.slot, brokerUrl: broker.url, images, env: unpacked.env };
      const host = await runSlotEdge({ ...common, runner: { kind: 'host' }, timeoutMs: 120_000 });
      expect(host.code, host.stderr).toBe(0);
      const emulated = await runSlotEdge({ ...common, runner: { kind: 'qemu', arch: p.arch }, timeoutMs: 280_000 });
      expect(emulated.code, `${emulated.signal ?? ''} ${emulated.stderr}`).toBe(0);
      for (const run of [host, emulated]) {
        expect(run.stdout).toContain(`akb-edge: profile ${p.profile} (given: ${unpacked.env.AKB_PROFILE}): backends onnxruntime-web-wasm;`);
        expect(run.stdout).toContain(`${PROOF_IMAGES.length} sent, 0 corrupt, 0 failed`);
      }
      expect(host.frames.length).toBeGreaterThanOrEqual(PROOF_IMAGES.length);
      const diff = compareFrames(host.frames, emulated.frames);
      expect(diff).toEqual({ frames: host.frames.length, differing: 0, maxSymbolDiff: 0, headerMismatches: [] });
    }, 420_000);
  });
}
