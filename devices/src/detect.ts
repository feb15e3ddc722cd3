/**
 * Board detection by scored fingerprints. Each profile lists clues (the device-tree model, /proc/cpuinfo
 * lines, files present or with some content), each with a weight; a profile scores the sum of the weights
 * of its clues that match, and the profiles come back ranked. Nothing here knows a board by name: the
 * catalogue is the only place boards are described. File access is injected, so detection runs against
 * golden fixtures, a mounted SD card, or the live system alike.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceProfile, Fingerprint } from '@akb/protocol';
import { ProfileCatalogue } from './catalogue.js';

/** File access detection needs. `readFile` throws (or rejects) when the file cannot be read. */
export interface ProbeFileSystem {
  readFile(path: string): string | Promise<string>;
  exists(path: string): boolean | Promise<boolean>;
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

/** Where the fixed fingerprint sources are read from. */
export const SOURCE_PATHS = {
  'device-tree-model': '/proc/device-tree/model',
  cpuinfo: '/proc/cpuinfo',
} as const;

/** Only the head of a file is matched: detection files are small, and this bounds regex work. */
const MAX_CONTENT = 1 << 20;

/** Reads each path at most once per detection; unreadable files read as undefined. */
class CachedProbe {
  private readonly contents = new Map<string, Promise<string | undefined>>();
  private readonly presence = new Map<string, Promise<boolean>>();

  constructor(private readonly fs: ProbeFileSystem) {}

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

/** File access to the live system, or to a root file system mounted at `root` (e.g. an SD card). */
export function directoryProbe(root = '/'): ProbeFileSystem {
  const under = (path: string): string => join(root, path);
  return {
    readFile: (path) => readFile(under(path), 'utf8'),
    exists: async (path) => {
      try {
        await access(under(path));
        return true;
      } catch {
        return false;
      }
    },
  };
}
