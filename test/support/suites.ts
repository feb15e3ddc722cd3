/**
 * Suites that need an installed program (mosquitto, socat, chromium). Absent, the suite is skipped with a
 * message naming the Debian package, unless AKB_REQUIRE_ALL=1, which turns the skip into a failing test.
 *
 *   describeWithProgram('mosquitto', 'mosquitto', 'broker: mosquitto', () => { … });
 *   describe.skipIf(!requireProgram('socat', 'socat'))('pty', () => { … });
 */
import { describe, it } from 'vitest';
import { findProgram, missingMessage, requireAll } from './programs.js';

/**
 * `describe` when the program is present; otherwise a skipped suite whose title says what to install, or
 * under AKB_REQUIRE_ALL=1 a suite with one failing test saying the same.
 */
export function describeWithProgram(name: string, debianPackage: string, title: string, body: () => void): void {
  if (findProgram(name) !== undefined) {
    describe(title, body);
  } else if (requireAll()) {
    describe(title, () => {
      it(`needs ${name}`, () => {
        throw new Error(`${missingMessage(name, debianPackage)}; AKB_REQUIRE_ALL=1 makes this a failure`);
      });
    });
  } else {
    describe.skip(`${title} [skipped: ${missingMessage(name, debianPackage)}]`, body);
  }
}
