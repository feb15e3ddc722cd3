/**
 * Finding installed programs (mosquitto, socat, chromium). No vitest here, so benchmarks can use it too;
 * the suite helpers are in suites.ts.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The absolute path of `name` on PATH, or undefined. Only PATH is searched, so a test run can hide a program
 * by narrowing PATH; Debian installs daemons such as mosquitto in /usr/sbin, which a non-root PATH may lack.
 */
export function findProgram(name: string, path: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when every program must be present (CI with the full tool set). */
export function requireAll(): boolean {
  return process.env.AKB_REQUIRE_ALL === '1';
}

export function missingMessage(name: string, debianPackage: string): string {
  // Debian installs daemons such as mosquitto in /usr/sbin, which a non-root PATH often lacks.
  const elsewhere = findProgram(name, ['/usr/sbin', '/sbin', '/usr/local/sbin'].join(delimiter));
  const also = elsewhere === undefined ? '' : `; ${elsewhere} exists: add its folder to PATH`;
  return `${name} not found on PATH (install it: apt-get install ${debianPackage}${also})`;
}

/**
 * Whether a suite needing `name` should run. Present: true. Absent: false, after a warning naming the
 * package; but true under AKB_REQUIRE_ALL=1, so the suite runs and fails where it starts the program.
 */
export function requireProgram(name: string, debianPackage: string): boolean {
  if (findProgram(name) !== undefined) return true;
  if (requireAll()) return true;
  console.warn(`skipping suites that need ${missingMessage(name, debianPackage)}`);
  return false;
}
