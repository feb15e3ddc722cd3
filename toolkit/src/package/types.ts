/**
 * What `akb package` assembles: payload files with their bundle role and mode, taken from bytes in memory
 * or from a file on disk (streamed by the bundle writer, never read whole here).
 */
import type { BundleFileRole, CpuArch, DeviceProfile } from '@akb/protocol';

export type FileSource = { bytes: Uint8Array } | { file: string };

export interface PayloadFile {
  /** Path inside the payload, "/"-separated. */
  path: string;
  role: BundleFileRole;
  /** POSIX mode; 0o644 when absent. */
  mode?: number;
  source: FileSource;
}

/** Progress lines for long steps (stderr in the CLI). */
export type ProgressFn = (message: string) => void;

/** The target a bundle is built for, from its profile. */
export interface Target {
  profile: DeviceProfile;
  arch: CpuArch;
}

/** onnxruntime's and serialport's folder names for an architecture. */
export const ARCH_DIRS: Readonly<Record<CpuArch, { ort: string | undefined; serialport: string; nodeRs: string }>> = {
  x64: { ort: 'x64', serialport: 'linux-x64', nodeRs: 'crc32-linux-x64-gnu' },
  arm64: { ort: 'arm64', serialport: 'linux-arm64', nodeRs: 'crc32-linux-arm64-gnu' },
  // onnxruntime-node has no 32-bit ARM build: such a bundle runs onnxruntime-web's WASM backend.
  armv7: { ort: undefined, serialport: 'linux-arm', nodeRs: 'crc32-linux-arm-gnueabihf' },
};
