/**
 * The device-profile catalogue: `*.profile.json` files under the package's board-family folders
 * (or any folder given), each validated by the protocol's device-profile schema. A catalogue is a plain
 * instance, built fresh on every load, so tests and tools can load their own.
 *
 * Profiles in a folder named `generic` are not boards: one per CPU architecture, they are what a runtime
 * uses on a machine no board profile matches (resolve.ts). The rest are boards, the candidates of
 * detection.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AkbError, decodeMessage, isAkbError, type CpuArch, type DeviceProfile } from '@akb/protocol';

export const PROFILE_SUFFIX = '.profile.json';

/** The folder of the generic (fallback) profiles, one per CPU architecture. */
export const GENERIC_FAMILY = 'generic';

/** The package folder: one level above this module, from `src/` (tests, tsx) and `dist/` (built) alike. */
export const packageRoot: string = fileURLToPath(new URL('..', import.meta.url));

/** Folders never searched for profiles. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'src', 'fixtures']);
const MAX_DEPTH = 4;

async function findProfileFiles(dir: string, depth = 0): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    throw new AkbError('PROFILE_DIR_UNREADABLE', `cannot read the profile folder ${dir}`, {
      hint: 'pass the folder that holds *.profile.json files',
      cause,
    });
  }
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < MAX_DEPTH && !SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) {
      found.push(...(await findProfileFiles(path, depth + 1)));
    } else if (entry.isFile() && entry.name.endsWith(PROFILE_SUFFIX)) {
      found.push(path);
    }
  }
  return found;
}

/** A profile and the file it came from. */
export interface CatalogueEntry {
  readonly profile: DeviceProfile;
  readonly file: string;
}

/** The family of an entry: the folder its file is in (a board family, or `generic`). */
export function familyOf(entry: CatalogueEntry): string {
  return basename(dirname(entry.file));
}

/** A generic profile: a fallback for an architecture, not a board. */
export function isGeneric(entry: CatalogueEntry): boolean {
  return familyOf(entry) === GENERIC_FAMILY;
}

export class ProfileCatalogue {
  private readonly byId: ReadonlyMap<string, CatalogueEntry>;

  constructor(readonly entries: readonly CatalogueEntry[]) {
    const byId = new Map<string, CatalogueEntry>();
    for (const entry of entries) {
      const previous = byId.get(entry.profile.id);
      if (previous !== undefined) {
        throw new AkbError('PROFILE_DUPLICATE', `device profile id "${entry.profile.id}" is used by ${previous.file} and ${entry.file}`, {
          hint: 'give every profile its own id',
        });
      }
      byId.set(entry.profile.id, entry);
    }
    this.byId = byId;
  }

  /** Loads every `*.profile.json` under `dir` (default: this package's catalogue), sorted by path. */
  static async load(dir: string = packageRoot): Promise<ProfileCatalogue> {
    const files = await findProfileFiles(dir);
    const entries = await Promise.all(files.map(async (file) => ({ file, profile: await readProfile(file, dir) })));
    return new ProfileCatalogue(entries);
  }

  get profiles(): DeviceProfile[] {
    return this.entries.map((e) => e.profile);
  }

  get ids(): string[] {
    return this.entries.map((e) => e.profile.id);
  }

  /** The board profiles: every profile outside the generic folder, the candidates of detection. */
  get boards(): DeviceProfile[] {
    return this.entries.filter((e) => !isGeneric(e)).map((e) => e.profile);
  }

  /** The generic profiles, one per CPU architecture. */
  get generics(): DeviceProfile[] {
    return this.entries.filter(isGeneric).map((e) => e.profile);
  }

  /** The generic profile for `arch`, if the catalogue has one. */
  genericFor(arch: CpuArch): DeviceProfile | undefined {
    return this.generics.find((p) => p.cpu.arch === arch);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The profile with `id`; AkbError('UNKNOWN_PROFILE') naming the known ids otherwise. */
  get(id: string): DeviceProfile {
    const entry = this.byId.get(id);
    if (entry === undefined) {
      throw new AkbError('UNKNOWN_PROFILE', `unknown device profile "${id.slice(0, 64)}"`, {
        hint: this.entries.length === 0 ? 'the catalogue is empty' : `known profiles: ${[...this.ids].sort().join(', ')}`,
      });
    }
    return entry.profile;
  }
}

/** Reads and validates one profile file; AkbError('PROFILE_INVALID') naming the file and the problem. */
export async function readProfile(file: string, root?: string): Promise<DeviceProfile> {
  const shown = root === undefined ? file : relative(root, file);
  try {
    return decodeMessage('device-profile', await readFile(file));
  } catch (cause) {
    const why = isAkbError(cause) ? cause.message : String(cause);
    throw new AkbError('PROFILE_INVALID', `device profile ${shown} is invalid: ${why}`, {
      hint: 'fix the file; protocol/schema/device-profile.schema.json describes every field',
      cause,
    });
  }
}

/** Every profile under `dir` (default: this package's catalogue). */
export async function loadProfiles(dir?: string): Promise<DeviceProfile[]> {
  return (await ProfileCatalogue.load(dir)).profiles;
}

/** One profile by id; AkbError('UNKNOWN_PROFILE') listing the known ids when there is none. */
export async function getProfile(id: string, options: { dir?: string } = {}): Promise<DeviceProfile> {
  return (await ProfileCatalogue.load(options.dir)).get(id);
}
