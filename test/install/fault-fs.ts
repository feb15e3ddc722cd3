/**
 * Device-side faults, each produced once on a real file system (issue 14, item 5): a disk too full for an
 * install, for an OTA download (refused before fetching), for the slot after a download, and filling up
 * in the middle of one; a read-only file system under an install, an OTA offer (the replay floor cannot be
 * written) and the floor file itself; akb-agent run as `nobody` on a root-owned install root, and on a
 * replay-floor file it may not read. Each scenario returns what it saw: the error line, whether the
 * running slot stayed byte-identical and the edge still reads it as running, what the failure left on
 * disk, and whether the same step went through once the fault was cleared (space freed, remounted
 * read-write, ownership given). `runDeviceFaults` runs them all for the reliability bench; the tests
 * (device-faults.test.ts) check each outcome. Needs root (see `faultsUnavailable`).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAkbError, type OtaResult } from '@akb/protocol';
import { SeqFloors } from '../../runtime-edge/src/install/seq-floor.js';
import { FaultLab, MiB, agentAs, faultsUnavailable, leftovers, lineOf, slotIntact } from './fault-lab.js';

export { FaultLab, faultsUnavailable } from './fault-lab.js';

export interface FaultOutcome {
  fault: string;
  /** The one line reported (message and hint). */
  error: string;
  /** The error's code (AkbError code, OTA result reason, or the CLI's exit code). */
  code: string;
  /** The running slot byte-identical, state.json and `current` unchanged, the edge reading it as 1.0.0. */
  slotIntact: boolean;
  /** What the failure left behind (should be nothing). */
  leftovers: string[];
  /** The same step succeeded once the fault was cleared. */
  recovered: boolean;
}

/** A row of the reliability bench. */
export interface FaultRow {
  fault: string;
  error: string;
  slotIntact: boolean;
}

/** What an install root holds with one slot installed. */
const INSTALLED = ['current', 'slot-a', 'state.json'];
/** What an OTA device's root holds besides: the floor, and results under ota/. */
const OTA_KEPT = [...INSTALLED, 'signed-seq.json', 'ota'];

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('no error'),
    (e: unknown) => e,
  );
}

const codeOf = (e: unknown): string => (isAkbError(e) ? e.code : String((e as { code?: unknown }).code));

/** The running slot's disk leftovers in ota/: anything but kept results. */
async function otaLeftovers(root: string): Promise<string[]> {
  return (await leftovers(join(root, 'ota'), [])).filter((n) => !/^result-.*\.json$/.test(n));
}

/** The outcome of an OTA fault from its result: the line and reason, the slot checked, what was left besides `kept`. */
async function otaOutcome(fault: string, result: OtaResult, root: string, kept: readonly string[], slotOk: boolean): Promise<Omit<FaultOutcome, 'recovered'>> {
  return {
    fault,
    error: result.status === 'failed' ? result.message : 'installed',
    code: result.status === 'failed' ? result.reason : 'ok',
    slotIntact: slotOk,
    leftovers: [...(await leftovers(root, kept)), ...(await otaLeftovers(root))],
  };
}

export async function diskFullInstall(lab: FaultLab): Promise<FaultOutcome> {
  const fs = lab.tmpfs(6 * MiB);
  try {
    const root = join(fs.path, 'akb');
    const before = await lab.installed(root);
    fs.fill(MiB);
    const error = await caught(lab.install(root, lab.bundles.big));
    const outcome = { fault: 'disk full: install', error: lineOf(error), code: codeOf(error), slotIntact: await slotIntact(root, before, '1.0.0'), leftovers: await leftovers(root, INSTALLED) };
    fs.unfill();
    return { ...outcome, recovered: (await lab.install(root, lab.bundles.big)).status === 'committed' };
  } finally {
    fs.unmount();
  }
}

/** An OTA download larger than the free space: refused before a block is fetched. */
export async function diskFullOtaOffer(lab: FaultLab): Promise<FaultOutcome> {
  const fs = lab.tmpfs(6 * MiB);
  try {
    const root = join(fs.path, 'akb');
    const before = await lab.installed(root);
    const device = await lab.device('fault-full-offer', root);
    fs.fill(MiB);
    const result = await lab.offer(device, lab.bundles.big);
    const blocks = device.receiver.stats.blocks;
    const outcome = await otaOutcome('disk full: OTA download', result, root, OTA_KEPT, (await slotIntact(root, before, '1.0.0')) && blocks === 0);
    fs.unfill();
    return { ...outcome, recovered: (await lab.offer(device, lab.bundles.big)).status === 'ok' };
  } finally {
    await lab.closeDevices();
    fs.unmount();
  }
}

/** An OTA download that fits, whose slot then does not fit beside it: the agent's disk-full, said as such. */
export async function diskFullOtaInstall(lab: FaultLab): Promise<FaultOutcome> {
  const fs = lab.tmpfs(8 * MiB);
  try {
    const root = join(fs.path, 'akb');
    const before = await lab.installed(root);
    const device = await lab.device('fault-full-slot', root);
    fs.fill(2 * MiB);
    const result = await lab.offer(device, lab.bundles.big);
    const outcome = await otaOutcome('disk full: OTA install', result, root, OTA_KEPT, await slotIntact(root, before, '1.0.0'));
    fs.unfill();
    return { ...outcome, recovered: (await lab.offer(device, lab.bundles.big)).status === 'ok' };
  } finally {
    await lab.closeDevices();
    fs.unmount();
  }
}

/** The disk fills up (another writer) while a download runs: the transfer fails, the partial file goes. */
export async function diskFullMidDownload(lab: FaultLab): Promise<FaultOutcome> {
  const fs = lab.tmpfs(8 * MiB);
  try {
    const root = join(fs.path, 'akb');
    const before = await lab.installed(root);
    const device = await lab.device('fault-full-mid', root);
    const pending = lab.offer(device, lab.bundles.big, 1024);
    const end = Date.now() + 30_000;
    while (device.receiver.stats.blocks < 50 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    fs.fill(0);
    const result = await pending;
    const outcome = await otaOutcome('disk full: during an OTA download', result, root, [...OTA_KEPT, 'ballast.bin'], await slotIntact(root, before, '1.0.0'));
    fs.unfill();
    return { ...outcome, recovered: (await lab.offer(device, lab.bundles.big)).status === 'ok' };
  } finally {
    await lab.closeDevices();
    fs.unmount();
  }
}

export async function readOnlyInstall(lab: FaultLab): Promise<FaultOutcome> {
  const fs = lab.tmpfs(4 * MiB);
  try {
    const root = join(fs.path, 'akb');
    const before = await lab.installed(root);
    fs.remount('ro');
    const error = await caught(lab.install(root, lab.bundles.v11));
    const outcome = { fault: 'read-only: install', error: lineOf(error), code: codeOf(error), slotIntact: await slotIntact(root, before, '1.0.0'), leftovers: await leftovers(root, INSTALLED) };
    fs.remount('rw');
    return { ...outcome, recovered: (await lab.install(root, lab.bundles.v11)).status === 'committed' };
  } finally {
    fs.unmount();
  }
}

/** A signed offer on a read-only disk: its floor cannot be made durable, so it is failed, not acted on. */
export async function readOnlyOta(lab: FaultLab): Promise<FaultOutcome> {
  const fs = lab.tmpfs(4 * MiB);
  try {
    const root = join(fs.path, 'akb');
    const before = await lab.installed(root);
    const device = await lab.device('fault-ro-ota', root);
    fs.remount('ro');
    const result = await lab.offer(device, lab.bundles.v11);
    const outcome = await otaOutcome('read-only: OTA offer', result, root, INSTALLED, (await slotIntact(root, before, '1.0.0')) && device.receiver.stats.blocks === 0);
    fs.remount('rw');
    // The same receiver (the process did not stop) takes the next offer.
    return { ...outcome, recovered: (await lab.offer(device, lab.bundles.v11)).status === 'ok' };
  } finally {
    await lab.closeDevices();
    fs.unmount();
  }
}

/** The replay floor file on a read-only disk: one line, the floor unchanged, no temporary file left. */
export async function readOnlySeqFloor(lab: FaultLab): Promise<FaultOutcome> {
  const fs = lab.tmpfs(MiB);
  try {
    const root = join(fs.path, 'akb');
    const before = await lab.installed(root);
    const path = join(root, 'signed-seq.json');
    const floors = await SeqFloors.open(path);
    await floors.raise('ota-offer', 5);
    fs.remount('ro');
    const error = await caught(floors.raise('ota-offer', 9));
    const kept = floors.get('ota-offer') === 5 && (await SeqFloors.open(path)).get('ota-offer') === 5;
    const outcome = { fault: 'read-only: replay floor', error: lineOf(error), code: codeOf(error), slotIntact: (await slotIntact(root, before, '1.0.0')) && kept, leftovers: await leftovers(root, [...INSTALLED, 'signed-seq.json']) };
    fs.remount('rw');
    await floors.raise('ota-offer', 9);
    return { ...outcome, recovered: (await SeqFloors.open(path)).get('ota-offer') === 9 };
  } finally {
    fs.unmount();
  }
}

const NOBODY = 65534;

/** akb-agent install run as nobody on a root-owned 0755 install root. */
export async function permissionInstall(lab: FaultLab): Promise<FaultOutcome> {
  const root = join(lab.dir, 'perm-root');
  const before = await lab.installed(root);
  const args = ['install', lab.bundles.v11.path, '--root', root, '--profile', 'generic-x64', '--trust', lab.keys.pub, '--device', 'fault-perm', '--broker', lab.broker.url, '--health-timeout', '5'];
  const run = await agentAs('nobody', args);
  const outcome = {
    fault: 'permission: install as nobody', error: run.stderr.trim(), code: `exit ${run.code}`,
    slotIntact: await slotIntact(root, before, '1.0.0'), leftovers: await leftovers(root, INSTALLED),
  };
  // Given to the service user, the same install gets past the disk: it writes slot B, switches and runs
  // the slot's probe, which this tiny bundle fails (no ok line), so it rolls back: exit 4.
  chownTree(root, NOBODY);
  const again = await agentAs('nobody', args);
  return { ...outcome, recovered: again.code === 4 && /health check/.test(again.stderr) };
}

/** akb-agent ota run as nobody where signed-seq.json belongs to root, mode 0600. */
export async function unreadableSeqFile(lab: FaultLab): Promise<FaultOutcome> {
  const root = join(lab.dir, 'seq-root');
  const before = await lab.installed(root);
  chownTree(root, NOBODY);
  const seq = join(root, 'signed-seq.json');
  writeFileSync(seq, '{"v":1,"floors":{"ota-offer":7}}\n', { mode: 0o600 });
  chownSync(seq, 0, 0);
  const args = ['ota', '--root', root, '--profile', 'generic-x64', '--trust', lab.keys.pub, '--device', 'fault-seq', '--broker', lab.broker.url, '--once'];
  const run = await agentAs('nobody', args, { stopMs: 20_000 });
  const text = await readFile(seq, 'utf8');
  const outcome = {
    fault: 'permission: unreadable signed-seq.json', error: run.stderr.trim(), code: `exit ${run.code}`,
    slotIntact: (await slotIntact(root, before, '1.0.0')) && text.includes('"ota-offer":7'),
    leftovers: await leftovers(root, [...INSTALLED, 'signed-seq.json']),
  };
  chownSync(seq, NOBODY, NOBODY);
  // Readable, the agent starts and waits for offers until it is stopped (SIGTERM: exit 0).
  const again = await agentAs('nobody', args, { stopMs: 20_000, stopOn: /waiting for offers/ });
  return { ...outcome, recovered: again.code === 0 && /waiting for offers/.test(again.stdout) };
}

/** Gives `root` and everything in it to `uid` (what an operator does with chown -R). */
function chownTree(root: string, uid: number): void {
  execFileSync('chown', ['-R', `${uid}:${uid}`, root], { stdio: 'pipe' });
}

export const SCENARIOS = [
  diskFullInstall,
  diskFullOtaOffer,
  diskFullOtaInstall,
  diskFullMidDownload,
  readOnlyInstall,
  readOnlyOta,
  readOnlySeqFloor,
  permissionInstall,
  unreadableSeqFile,
] as const;

/** Runs each fault once (root only: throws faultsUnavailable's reason otherwise) and returns a row for each. */
export async function runDeviceFaults(): Promise<FaultRow[]> {
  const why = faultsUnavailable();
  if (why !== undefined) throw new Error(`device faults: ${why}`);
  const lab = await FaultLab.open();
  const rows: FaultRow[] = [];
  try {
    for (const scenario of SCENARIOS) {
      const o = await scenario(lab);
      rows.push({ fault: o.fault, error: o.error, slotIntact: o.slotIntact && o.leftovers.length === 0 });
    }
  } finally {
    await lab.close();
  }
  return rows;
}
