/**
 * Which profile a runtime uses: the one it is given (an unknown id is refused, naming the known ones),
 * else the board detection finds with confidence, else the generic profile of the architecture the
 * process runs as. The last is not a guess at the board: it says "unknown machine, small limits", and
 * the result says which of the three happened so the runtime can tell its log and status.
 */
import { AkbError, type CpuArch, type DeviceProfile } from '@akb/protocol';
import { ProfileCatalogue } from './catalogue.js';
import { DETECTION_THRESHOLD, detectProfile, directoryProbe, type DetectionMatch, type ProbeFileSystem } from './detect.js';

/** How the profile was chosen. */
export type ProfileChoice = 'given' | 'detected' | 'generic';

export interface ResolvedProfile {
  readonly profile: DeviceProfile;
  readonly choice: ProfileChoice;
  /** The best detection match, when detection ran (confident for `detected`, below the threshold or absent for `generic`). */
  readonly match?: DetectionMatch;
  /** One line for people: the id, then how it was chosen, e.g. `<id> (detected, score 95)`. */
  readonly reason: string;
}

export interface ResolveProfileOptions {
  /** A profile id the user gave; wins over detection. */
  id?: string;
  /** Default: the package's catalogue. */
  catalogue?: ProfileCatalogue;
  /** Files detection reads (default: this machine's /proc and /). */
  probe?: ProbeFileSystem;
  /** Node's name of the architecture the process runs as (default `process.arch`). */
  arch?: string;
}

const NODE_ARCHES: Readonly<Record<string, CpuArch>> = { x64: 'x64', arm64: 'arm64', arm: 'armv7' };

/**
 * The profile architecture of a Node `process.arch`: a 32-bit userland on a 64-bit ARM kernel is `arm`
 * (armv7), whatever `uname -m` says, because the userland decides which binaries load.
 */
export function cpuArchOf(nodeArch: string): CpuArch | undefined {
  return NODE_ARCHES[nodeArch];
}

export async function resolveProfile(options: ResolveProfileOptions = {}): Promise<ResolvedProfile> {
  const catalogue = options.catalogue ?? (await ProfileCatalogue.load());
  if (options.id !== undefined) {
    const profile = catalogue.get(options.id);
    return { profile, choice: 'given', reason: `${profile.id} (given)` };
  }
  const matches = await detectProfile(options.probe ?? directoryProbe('/'), { profiles: catalogue.boards });
  const [best, second] = matches;
  if (best !== undefined && best.score >= DETECTION_THRESHOLD && !(second !== undefined && second.score === best.score)) {
    return { profile: best.profile, choice: 'detected', match: best, reason: `${best.profile.id} (detected, score ${best.score})` };
  }
  const nodeArch = options.arch ?? process.arch;
  const arch = cpuArchOf(nodeArch);
  const generic = arch === undefined ? undefined : catalogue.genericFor(arch);
  const why =
    best === undefined
      ? 'no board detected'
      : best.score < DETECTION_THRESHOLD
        ? `no board detected; best ${best.profile.id} scored ${best.score} of ${DETECTION_THRESHOLD}`
        : `${best.profile.id} and ${second!.profile.id} tied at ${best.score}`;
  if (generic === undefined) {
    throw new AkbError('NO_PROFILE', `no device profile for this machine (${why}; no generic profile for ${nodeArch})`, {
      hint: `pass --profile with one of: ${[...catalogue.ids].sort().join(', ')}`,
      exitCode: 2,
    });
  }
  return { profile: generic, choice: 'generic', ...(best ? { match: best } : {}), reason: `${generic.id} (generic for ${arch}: ${why})` };
}
