/**
 * Semantic-version precedence (semver 2.0.0, section 11), which decides whether a bundle is a downgrade:
 * major, minor, patch compared as numbers; a version with a prerelease is lower than the same version
 * without (1.0.0-rc.1 < 1.0.0); prerelease identifiers compared one by one, numeric ones as numbers and
 * lower than alphanumeric ones, a shorter list lower when all before are equal; build metadata ignored.
 */
import { AkbError } from '@akb/protocol';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

interface Parsed {
  core: [bigint, bigint, bigint];
  pre: string[];
}

function parse(version: string): Parsed {
  const m = version.length <= 128 ? SEMVER.exec(version) : null;
  if (!m) throw new AkbError('BAD_VERSION', `"${version.slice(0, 40)}" is not a semantic version`, { hint: 'versions look like 1.2.3 or 2.0.0-rc.1' });
  return { core: [BigInt(m[1] ?? 0), BigInt(m[2] ?? 0), BigInt(m[3] ?? 0)], pre: m[4] ? m[4].split('.') : [] };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(BigInt(a) - BigInt(b)));
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** -1, 0 or 1 as `a` has lower, equal or higher precedence than `b`; throws on a non-semver string. */
export function compareSemver(a: string, b: string): -1 | 0 | 1 {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa.core[i] ?? 0n) - (pb.core[i] ?? 0n);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) {
    if (pa.pre.length === pb.pre.length) return 0;
    return pa.pre.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = compareIdentifiers(x, y);
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return 0;
}
