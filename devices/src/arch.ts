/**
 * The two architecture clues detection reads besides files: the kernel's machine name (`uname -m`:
 * aarch64, armv7l, x86_64) and the userland architecture as Node names it (`process.arch`: arm64, arm,
 * x64). They differ where it matters: a 32-bit userland on a 64-bit ARM kernel says aarch64 and arm, and
 * the userland decides which binaries load. On a system that is not running here (a mounted card, a
 * captured fixture, a shell on a serial console) the userland is read from the ELF header of /bin/sh.
 */

/** How many bytes of /bin/sh are read: the ELF identification and e_machine fit in the first 20. */
export const ELF_HEAD_BYTES = 20;

/** ELF e_machine values and ELF classes (1: 32-bit, 2: 64-bit) → Node's process.arch names. */
const ELF_ARCHES: Readonly<Record<string, string>> = {
  '2:183': 'arm64', // EM_AARCH64
  '1:40': 'arm', // EM_ARM
  '2:62': 'x64', // EM_X86_64
  '1:3': 'ia32', // EM_386
  '2:243': 'riscv64', // EM_RISCV
};

/**
 * Node's name of the architecture an ELF file was built for, from its first ELF_HEAD_BYTES bytes;
 * undefined for anything that is not an ELF header of a known architecture.
 */
export function userlandOfElf(head: Uint8Array): string | undefined {
  if (head.length < ELF_HEAD_BYTES) return undefined;
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const elfClass = head[4]!;
  const little = head[5] === 1;
  if (!little && head[5] !== 2) return undefined;
  const machine = little ? head[18]! | (head[19]! << 8) : (head[18]! << 8) | head[19]!;
  return ELF_ARCHES[`${elfClass}:${machine}`];
}

/** A machine name as `uname -m` prints one: a short word; anything else reads as unknown. */
export function cleanMachine(text: string | undefined): string | undefined {
  const word = text?.trim();
  return word !== undefined && /^[A-Za-z0-9_.-]{1,32}$/u.test(word) ? word : undefined;
}
