/**
 * The `created` time of a reproducible bundle: SOURCE_DATE_EPOCH (https://reproducible-builds.org) when
 * set, else the commit time of git's HEAD, else an error saying to set SOURCE_DATE_EPOCH.
 */
import { execFileSync } from 'node:child_process';
import { AkbError } from '@akb/protocol';

export function bundleCreatedTime(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Date {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== '') {
    if (!/^\d{1,12}$/.test(epoch)) {
      throw new AkbError('BAD_OPTION', `SOURCE_DATE_EPOCH must be whole seconds since 1970, got ${JSON.stringify(epoch.slice(0, 40))}`, {
        hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
      });
    }
    return new Date(Number(epoch) * 1000);
  }
  let out = '';
  try {
    out = execFileSync('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    out = '';
  }
  const seconds = out.trim();
  if (!/^\d{1,12}$/.test(seconds)) {
    throw new AkbError('NO_CREATED_TIME', 'cannot tell when the bundle was built: SOURCE_DATE_EPOCH is not set and this is not a git checkout', {
      hint: 'set SOURCE_DATE_EPOCH to whole seconds since 1970',
    });
  }
  return new Date(Number(seconds) * 1000);
}
