/** Semver precedence as the downgrade rule uses it, from the examples of semver.org section 11. */
import { describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { compareSemver } from './semver.js';

describe('compareSemver', () => {
  it('orders the semver.org example chain, prereleases included', () => {
    const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '10.0.0'];
    for (let i = 0; i < chain.length; i++) {
      for (let j = 0; j < chain.length; j++) expect(compareSemver(chain[i] as string, chain[j] as string), `${chain[i]} vs ${chain[j]}`).toBe(Math.sign(i - j));
    }
  });

  it('ignores build metadata and compares numbers beyond 2^53 exactly', () => {
    expect(compareSemver('1.2.3+build.5', '1.2.3+other')).toBe(0);
    expect(compareSemver('1.0.0-99999999999999999999', '1.0.0-99999999999999999998')).toBe(1);
    expect(compareSemver('9007199254740993.0.0', '9007199254740992.0.0')).toBe(1);
  });

  it('refuses what is not a semantic version with one line', () => {
    // thrown: a leading v, a missing patch, a leading zero, an over-long string
    for (const bad of ['v1.0.0', '1.0', '01.0.0', '1.0.0-' + 'a'.repeat(200)]) {
      let error: unknown;
      try {
        compareSemver(bad, '1.0.0');
      } catch (e) {
        error = e;
      }
      expect(isAkbError(error) && error.code, bad).toBe('BAD_VERSION');
    }
  });
});
