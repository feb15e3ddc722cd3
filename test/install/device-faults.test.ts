/**
 * Device-side faults on real file systems (issue 14, item 5), through fault-fs.ts: a tmpfs too full for an
 * install, an OTA download, the slot after a download, and one filling up mid-download; the tmpfs
 * remounted read-only under an install, an OTA offer and the replay-floor file; akb-agent run as `nobody`
 * (runuser) on a root-owned install root and on a signed-seq.json it may not read. Each time: one line
 * naming the path and the fault in words (with the bytes needed and free for a full disk), the running
 * slot byte-identical and still what the edge reads as running, nothing left behind, and the same step
 * going through once the fault is cleared. Root only (mount, runuser): elsewhere skipped with the reason,
 * a failure under AKB_REQUIRE_ALL=1. The payload sizes expected are the bundles' own: 1 500 000 random
 * bytes plus the 17-byte launcher "#!/bin/sh\nexit 0\n".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  diskFullInstall, diskFullMidDownload, diskFullOtaInstall, diskFullOtaOffer, FaultLab, faultsUnavailable, permissionInstall, readOnlyInstall,
  readOnlyOta, readOnlySeqFloor, unreadableSeqFile, type FaultOutcome,
} from './fault-fs.js';
import { requireAll } from '../support/programs.js';

const unavailable = faultsUnavailable();
const skip = unavailable !== undefined && !requireAll();
const BIG_PAYLOAD = 1_500_000 + '#!/bin/sh\nexit 0\n'.length;

let lab: FaultLab | undefined;
const run = async (scenario: (lab: FaultLab) => Promise<FaultOutcome>): Promise<FaultOutcome> => {
  if (unavailable !== undefined) throw new Error(`device faults: ${unavailable}; AKB_REQUIRE_ALL=1 makes this a failure`);
  return scenario(lab!);
};

/** The bytes needed and free that a disk-full line states. */
function sizes(line: string): { needs: number; free: number } {
  const m = /needs (\d+) bytes, (\d+) free/.exec(line);
  if (!m) throw new Error(`no sizes in: ${line}`);
  return { needs: Number(m[1]), free: Number(m[2]) };
}

function expectClean(o: FaultOutcome): void {
  expect(o.error).not.toContain('\n');
  expect(o.slotIntact, o.error).toBe(true);
  expect(o.leftovers, o.error).toEqual([]);
  expect(o.recovered, o.error).toBe(true);
}

describe(`device-side faults${skip ? ` [skipped: ${unavailable}]` : ''}`, () => {
  beforeAll(async () => {
    if (unavailable === undefined) lab = await FaultLab.open();
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
  });

  it.skipIf(skip)('disk full under an install: one line with the bytes needed, the running slot untouched', async () => {
    const o = await run(diskFullInstall);
    expect(o.code).toBe('DISK_FULL');
    expect(o.error).toMatch(/^writing slot B: no space left on \/\S+\/akb(\/slot-b\S*)? \(ENOSPC\): needs \d+ bytes, \d+ free; the running slot is untouched \(free space/);
    const { needs, free } = sizes(o.error);
    expect(needs).toBe(BIG_PAYLOAD);
    expect(free).toBeLessThan(needs);
    expectClean(o);
  }, 60_000);

  it.skipIf(skip)('an OTA download larger than the free space: refused before a block is fetched', async () => {
    const o = await run(diskFullOtaOffer);
    expect(o.code).toBe('NO_SPACE');
    expect(o.error).toMatch(/^downloading akb-edge-ota 2\.0\.0: no space left on \/\S+\/akb\/ota \(ENOSPC\): needs \d+ bytes, \d+ free; nothing was fetched/);
    const { needs, free } = sizes(o.error);
    expect(needs).toBe(lab!.bundles.big.size);
    expect(free).toBeLessThan(needs);
    expectClean(o);
  }, 60_000);

  it.skipIf(skip)('an OTA download that fits but whose slot does not: NO_SPACE with the payload size', async () => {
    const o = await run(diskFullOtaInstall);
    expect(o.code).toBe('NO_SPACE');
    expect(o.error).toMatch(/^writing slot B: no space left on \/\S+ \(ENOSPC\): needs \d+ bytes, \d+ free; the running slot is untouched/);
    expect(sizes(o.error).needs).toBe(BIG_PAYLOAD);
    expectClean(o);
  }, 90_000);

  it.skipIf(skip)('the disk filling up during a download: the transfer fails and its partial file is removed', async () => {
    const o = await run(diskFullMidDownload);
    expect(o.code).toBe('NO_SPACE');
    expect(o.error).toMatch(/no space left on \/\S+\/akb\/ota\/bundle\.(part|bitmap(\.tmp)?) \(ENOSPC(, \d+ bytes free)?\).*the partial download is removed and the running slot is untouched/);
    expectClean(o);
  }, 120_000);

  it.skipIf(skip)('a read-only file system under an install: one line naming the path and how to remount', async () => {
    const o = await run(readOnlyInstall);
    expect(o.code).toBe('READ_ONLY_FS');
    expect(o.error).toMatch(/: \/\S+\/akb\S* is on a read-only file system \(EROFS\); the running slot is untouched \(remount it read-write/);
    expectClean(o);
  }, 60_000);

  it.skipIf(skip)('a read-only file system under an OTA offer: failed with one line, the receiver keeps running', async () => {
    const o = await run(readOnlyOta);
    expect(o.code).toBe('INSTALL_FAILED');
    expect(o.error).toMatch(/^recording the replay floor: \/\S+\/akb\/signed-seq\.json\.tmp is on a read-only file system \(EROFS\); the floor is unchanged and the message is not acted on/);
    expectClean(o);
  }, 60_000);

  it.skipIf(skip)('the replay floor on a read-only file system: unchanged, no temporary file', async () => {
    const o = await run(readOnlySeqFloor);
    expect(o.code).toBe('READ_ONLY_FS');
    expect(o.error).toMatch(/signed-seq\.json\.tmp is on a read-only file system \(EROFS\)/);
    expectClean(o);
  }, 30_000);

  it.skipIf(skip)('akb-agent install as nobody on a root-owned root: EACCES naming the path, uid and chown', async () => {
    const o = await run(permissionInstall);
    expect(o.code).toBe('exit 1');
    expect(o.error.split('\n')).toHaveLength(1);
    expect(o.error).toMatch(/^akb-agent: .*permission denied on \/\S+\/perm-root\S* \(EACCES\) for uid 65534; .*\(run akb-agent as the service user that owns \S+ \(uid 0\), or .*chown -R <user>/);
    expectClean(o);
  }, 90_000);

  it.skipIf(skip)('akb-agent ota as nobody with a signed-seq.json it may not read: EACCES, not "corrupt"', async () => {
    const o = await run(unreadableSeqFile);
    expect(o.code).toBe('exit 1');
    expect(o.error.split('\n')).toHaveLength(1);
    expect(o.error).toMatch(
      /^akb-agent: cannot read the replay floors in \/\S+\/signed-seq\.json: permission denied \(EACCES\) for uid 65534, the file belongs to uid 0 \(.*chown <user> \S+signed-seq\.json\); do not delete it\)$/,
    );
    expectClean(o);
  }, 90_000);
});
