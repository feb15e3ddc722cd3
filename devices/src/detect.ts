/**
 * Board detection by scored fingerprints. Each profile lists clues (the device-tree model, /proc/cpuinfo
 * lines, files present or with some content, the kernel's machine name, the userland architecture), each
 * with a weight; a profile scores the sum of the weights of its clues that match, and the profiles come
 * back ranked. Nothing here knows a board by name: the catalogue is the only place boards are described.
 * What detection reads is injected (a ProbeFileSystem), so it runs against the live system, a mounted SD
 * card, a captured fixture, or a shell on a serial console (shell-probe.ts) alike.
 */
import { access, open } from 'node:fs/promises';
import { machine as osMachine } from 'node:os';
import { join, resolve } from 'node:path';
import type { DeviceProfile, Fingerprint } from '@akb/protocol';
import { ELF_HEAD_BYTES, cleanMachine, userlandOfElf } from './arch.js';
import { ProfileCatalogue } from './catalogue.js';

/**
 * What detection reads. `readFile` throws (or rejects) when the file cannot be read; it may return only
 * the head of a long file. `machine` and `userland` are optional: absent, or answering undefined, their
 * fingerprints do not match.
 */
export interface ProbeFileSystem {
  readFile(path: string): string | Promise<string>;
  exists(path: string): boolean | Promise<boolean>;
  /** The kernel's machine name as `uname -m` prints it (aarch64, armv7l, x86_64). */
  machine?(): string | undefined | Promise<string | undefined>;
  /** The userland architecture as Node names it (arm64, arm, x64). */
  userland?(): string | undefined | Promise<string | undefined>;
}

/** A ranked detection result. */
export interface DetectionMatch {
  readonly profile: DeviceProfile;
  /** Sum of the weights of the fingerprints that matched. */
  readonly score: number;
  /** The fingerprints that matched, in the profile's order. */
  readonly matched: readonly Fingerprint[];
}

export interface DetectOptions {
  /** Profiles to score (default: the package's catalogue). */
  profiles?: readonly DeviceProfile[];
  /** Lowest score reported (default 1: every profile with a positive score). */
  minScore?: number;
}

/** Score from which the best match is taken without asking: a device-tree model match alone reaches it. */
export const DETECTION_THRESHOLD = 50;

/**
 * Where the fixed fingerprint sources are read from. `machine` and `userland` are read from files only
 * when the system is not the one running detection: the sysctl kernel.arch (the kernel's `uname -m`,
 * where the kernel has it; a captured fixture always carries it) and the ELF header of /bin/sh.
 */
export const SOURCE_PATHS = {
  'device-tree-model': '/proc/device-tree/model',
  cpuinfo: '/proc/cpuinfo',
  machine: '/proc/sys/kernel/arch',
  userland: '/bin/sh',
} as const;

/** Only the head of a file is matched: detection files are small, and this bounds memory and regex work. */
export const MAX_CONTENT = 1 << 20;

/** Reads each path at most once per detection; unreadable files read as undefined. */
class CachedProbe {
  private readonly contents = new Map<string, Promise<string | undefined>>();
  private readonly presence = new Map<string, Promise<boolean>>();
  private machineName: Promise<string | undefined> | undefined;
  private userlandArch: Promise<string | undefined> | undefined;

  constructor(private readonly fs: ProbeFileSystem) {}

  machine(): Promise<string | undefined> {
    this.machineName ??= settle(async () => cleanMachine(await this.fs.machine?.()));
    return this.machineName;
  }

  userland(): Promise<string | undefined> {
    this.userlandArch ??= settle(async () => cleanMachine(await this.fs.userland?.()));
    return this.userlandArch;
  }

  read(path: string): Promise<string | undefined> {
    let content = this.contents.get(path);
    if (content === undefined) {
      content = (async () => {
        try {
          return (await this.fs.readFile(path)).slice(0, MAX_CONTENT);
        } catch {
          return undefined;
        }
      })();
      this.contents.set(path, content);
    }
    return content;
  }

  exists(path: string): Promise<boolean> {
    let present = this.presence.get(path);
    if (present === undefined) {
      present = (async () => {
        try {
          return await this.fs.exists(path);
        } catch {
          return false;
        }
      })();
      this.presence.set(path, present);
    }
    return present;
  }
}

/** The value of `read`, or undefined when it throws. */
async function settle<T>(read: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

function matches(pattern: string, flags: string | undefined, text: string | undefined): boolean {
  return text !== undefined && new RegExp(pattern, `u${flags ?? ''}`).test(text);
}

/** The device-tree model file ends in NUL bytes (and sometimes a newline); they are not part of the name. */
function cleanModel(text: string | undefined): string | undefined {
  return text?.replace(/[\0\s]+$/u, '');
}

async function fingerprintMatches(fp: Fingerprint, probe: CachedProbe): Promise<boolean> {
  switch (fp.source) {
    case 'device-tree-model':
      return matches(fp.pattern, fp.flags, cleanModel(await probe.read(SOURCE_PATHS['device-tree-model'])));
    case 'cpuinfo':
      return matches(fp.pattern, fp.flags, await probe.read(SOURCE_PATHS.cpuinfo));
    case 'machine':
      return matches(fp.pattern, fp.flags, await probe.machine());
    case 'userland':
      return matches(fp.pattern, fp.flags, await probe.userland());
    case 'file':
      if (!(await probe.exists(fp.path))) return false;
      return fp.pattern === undefined || matches(fp.pattern, fp.flags, await probe.read(fp.path));
  }
}

/** Scores one profile against the probed files. */
async function scoreProfile(profile: DeviceProfile, probe: CachedProbe): Promise<DetectionMatch> {
  const results = await Promise.all(profile.detect.map(async (fp) => ({ fp, hit: await fingerprintMatches(fp, probe) })));
  const matched = results.filter((r) => r.hit).map((r) => r.fp);
  return { profile, score: matched.reduce((sum, fp) => sum + fp.weight, 0), matched };
}

/** Ranks the profiles by score, best first (ties by id), keeping those at or above `minScore`. */
export async function detectProfile(fs: ProbeFileSystem, options: DetectOptions = {}): Promise<DetectionMatch[]> {
  const profiles = options.profiles ?? (await ProfileCatalogue.load()).profiles;
  const probe = new CachedProbe(fs);
  const scored = await Promise.all(profiles.map((p) => scoreProfile(p, probe)));
  const minScore = options.minScore ?? 1;
  return scored
    .filter((m) => m.score >= minScore)
    .sort((a, b) => b.score - a.score || a.profile.id.localeCompare(b.profile.id));
}

/** The best match when it reaches DETECTION_THRESHOLD and is not tied; undefined otherwise. */
export async function detectBestProfile(fs: ProbeFileSystem, options: DetectOptions = {}): Promise<DetectionMatch | undefined> {
  const [best, second] = await detectProfile(fs, options);
  if (best === undefined || best.score < DETECTION_THRESHOLD) return undefined;
  return second !== undefined && second.score === best.score ? undefined : best;
}

/** The first `max` bytes of a file (files under /proc report size 0, so it reads until EOF or `max`). */
export async function readHead(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(max);
    let filled = 0;
    while (filled < max) {
      const { bytesRead } = await handle.read(buffer, filled, max - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

export interface DirectoryProbeOptions {
  /**
   * Whether `root` is the running system (default: when it is `/`). Live, the machine name is
   * os.machine() and the userland is process.arch; otherwise they are read from SOURCE_PATHS under root.
   */
  live?: boolean;
}

/**
 * Detection input from the live system, or from a root file system at `root` (a mounted SD card, a
 * captured fixture). Every file is read up to MAX_CONTENT bytes.
 */
export function directoryProbe(root = '/', options: DirectoryProbeOptions = {}): ProbeFileSystem {
  const under = (path: string): string => join(root, path);
  const live = options.live ?? resolve(root) === '/';
  const readFile = async (path: string): Promise<string> => (await readHead(under(path), MAX_CONTENT)).toString('utf8');
  return {
    readFile,
    exists: async (path) => {
      try {
        await access(under(path));
        return true;
      } catch {
        return false;
      }
    },
    machine: live ? () => osMachine() : () => readFile(SOURCE_PATHS.machine),
    userland: live ? () => process.arch : async () => userlandOfElf(await readHead(under(SOURCE_PATHS.userland), ELF_HEAD_BYTES)),
  };
}
