/**
 * Device profiles' memory for the `memory` alarm (`akb-cloud --profiles <dir>`): every `*.profile.json`
 * in the folder and its subfolders (one level, as devices/ keeps them: devices/rpi/rpi-5.profile.json),
 * validated by the protocol's DeviceProfile schema. Bounded: at most 1000 files of at most 64 KiB.
 * A file that is not a valid profile is refused with its path, so a typo does not silently fall back to
 * the 1024 MiB default.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError, DeviceProfile } from '@akb/protocol';

const MAX_FILES = 1000;
const MAX_BYTES = 64 * 1024;

/** Profile id → memory in bytes. */
export async function loadProfileMemory(dir: string): Promise<Map<string, number>> {
  const files: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (cause) {
      throw new AkbError('BAD_PROFILES', `--profiles: cannot read ${d}`, { cause, hint: 'name the folder of device profiles, e.g. devices/' });
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory() && depth < 1) await walk(join(d, e.name), depth + 1);
      else if (e.isFile() && e.name.endsWith('.profile.json')) files.push(join(d, e.name));
      if (files.length > MAX_FILES) throw new AkbError('BAD_PROFILES', `--profiles: more than ${MAX_FILES} profile files under ${dir}`);
    }
  };
  await walk(dir, 0);
  const memory = new Map<string, number>();
  for (const f of files) {
    if ((await stat(f)).size > MAX_BYTES) throw new AkbError('BAD_PROFILES', `--profiles: ${f} is larger than ${MAX_BYTES} bytes`);
    let profile: DeviceProfile;
    try {
      profile = DeviceProfile.parse(JSON.parse(await readFile(f, 'utf8')));
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 160) : String(cause);
      throw new AkbError('BAD_PROFILES', `--profiles: ${f} is not a valid device profile (${detail})`, { cause });
    }
    memory.set(profile.id, profile.memoryMb * 2 ** 20);
  }
  return memory;
}
