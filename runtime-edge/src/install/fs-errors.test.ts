/**
 * fs-errors: the install agent's own disk-fault line keeps what it was doing and what it left, gains the
 * path and the sizes; errno errors are found along the cause chain; anything that is not a disk fault
 * passes through untouched. The real faults (tmpfs, read-only, nobody) are test/install/device-faults.
 */
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { AkbError, isAkbError } from '@akb/protocol';
import { diskError } from '@akb/flash';
import { describeDiskFault, errnoCause, freeBytes, isDiskFault, noSpace } from './fs-errors.js';

/** An error shaped as node:fs throws them (code, syscall, path). */
const fsError = (code: string, syscall: string, path: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

it("rewrites the agent's DISK_FULL line with the path and the bytes needed", async () => {
  const agent = diskError(fsError('ENOSPC', 'write', '/opt/akb/slot-b/data/blob.bin'), 'writing slot B');
  const line = await describeDiskFault(agent, { doing: 'installing x', path: '/opt/akb', needs: 1_500_017, left: 'ignored' });
  expect(isAkbError(line) && line.code).toBe('DISK_FULL');
  expect((line as Error).message).toMatch(
    /^writing slot B: no space left on \/opt\/akb\/slot-b\/data\/blob\.bin \(ENOSPC\): needs 1500017 bytes, (\d+|unknown) free; the running slot is untouched$/,
  );
  expect(errnoCause(line)?.code).toBe('ENOSPC');
});

it('names the user and the owner for EACCES, and the remount for EROFS', async () => {
  const denied = await describeDiskFault(fsError('EACCES', 'open', '/nonexistent-akb/state.json'), { doing: 'writing the state', path: '/x', left: 'nothing changed', owned: '/' });
  expect((denied as AkbError).message).toBe(`writing the state: permission denied on /nonexistent-akb/state.json (EACCES) for uid ${process.getuid!()}; nothing changed`);
  expect((denied as AkbError).hint).toBe('run akb-agent as the service user that owns / (uid 0), or give that folder to the user it runs as (chown -R <user> /)');
  const ro = await describeDiskFault(fsError('EROFS', 'open', '/mnt/akb/x.tmp'), { doing: 'recording', path: '/x', left: 'unchanged' });
  expect((ro as AkbError).code).toBe('READ_ONLY_FS');
  expect((ro as AkbError).hint).toContain('mount -o remount,rw "$(findmnt -no TARGET -T /mnt/akb)"');
});

it('passes through what is not a disk fault', async () => {
  const missing = fsError('ENOENT', 'open', '/x');
  expect(await describeDiskFault(missing, { doing: 'd', path: '/x', left: 'l' })).toBe(missing);
  const refusal = new AkbError('WRONG_PROFILE', 'no', { cause: fsError('EACCES', 'open', '/x') });
  expect(await describeDiskFault(refusal, { doing: 'd', path: '/x', left: 'l' })).toBe(refusal);
  expect(isDiskFault(missing)).toBe(false);
  expect(isDiskFault(noSpace('d', '/x', 10, 5, 'l'))).toBe(true);
  expect(noSpace('downloading a 1.0.0', '/opt/akb/ota', 10, 5, 'nothing fetched').message).toBe(
    'downloading a 1.0.0: no space left on /opt/akb/ota (ENOSPC): needs 10 bytes, 5 free; nothing fetched',
  );
});

it('measures free space at the nearest existing folder', async () => {
  const s = statfsSync(tmpdir());
  const free = await freeBytes(join(tmpdir(), 'not-there', 'deeper'));
  // Other writers may change it between the two calls: within 64 MiB of statfs's own answer.
  expect(Math.abs(free! - s.bavail * s.bsize)).toBeLessThan(64 * 1024 * 1024);
});
