/**
 * Install-agent figures, each with a baseline measured in the same run (these machines are noisy):
 * - install: `InstallAgent.install` of a real bundle (akb-k256 models, 21 files, ~3 MB gzip; built as the
 *   install tests build it) into the inactive slot, with a health check that passes at once, so the time
 *   is verify + write + fsync + switch. Baseline: copying the same files, already unpacked, into a fresh
 *   folder with an fsync of every file and folder (the least a durable install must do).
 * - rollback: from the instant the health check reports a failure to the old slot running again, i.e.
 *   the agent's rollback (state and `current` back, fsynced) plus a start of the old slot's runtime
 *   (`akb-edge --probe`: models loaded, broker connected, an image encoded). Baseline: that start alone.
 * Run: `npx tsx bench/package/install.ts` (build first: npx tsc -b), or through bench/run.ts.
 */
import { cp, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InstallAgent, loadTrustedKeys, type HealthCheck } from '@akb/flash';
import { runSlotProbe } from '@akb/edge/install';
import { startAedes } from '../../test/support/aedes.js';
import { PROFILE_ID, makeBundle, makeKeys } from '../../test/install/slot-bundle.js';

const ROUNDS = 3;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Copies `from` into `to` file by file, fsyncing each file and each folder. */
async function durableCopy(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await durableCopy(src, dst);
    else if (entry.isFile()) {
      await cp(src, dst);
      await fsyncPath(dst);
    }
  }
  await fsyncPath(to);
}

export async function runPackageInstallBench(): Promise<object> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-install-'));
  const broker = await startAedes();
  try {
    const keys = await makeKeys(dir, 'bench');
    const trustedKeys = await loadTrustedKeys([keys.pub]);
    const good = join(dir, 'good.akb');
    const written = await makeBundle(good, { version: '1.0.0', keys });
    const pass: HealthCheck = () => Promise.resolve({ ok: true });
    const installMs: number[] = [];
    const copyMs: number[] = [];
    let slotDir = '';
    for (let round = 0; round < ROUNDS; round++) {
      const root = join(dir, `root-${round}`);
      const agent = new InstallAgent({ root, profile: PROFILE_ID, trustedKeys, healthCheck: pass });
      let t0 = performance.now();
      const result = await agent.install(good);
      installMs.push(performance.now() - t0);
      if (result.status !== 'committed') throw new Error(`bench install: ${result.message}`);
      slotDir = agent.slotDir('A');
      t0 = performance.now();
      await durableCopy(slotDir, join(dir, `copy-${round}`));
      copyMs.push(performance.now() - t0);
    }

    // Rollback: a second version whose health check fails; the clock starts when it reports the failure.
    const root = join(dir, 'root-0');
    const rollbackMs: number[] = [];
    const startMs: number[] = [];
    const agentMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const next = join(dir, `next-${round}.akb`);
      await makeBundle(next, { version: `1.0.${round + 1}`, keys });
      let failedAt = 0;
      let rolledAt = 0;
      const agent = new InstallAgent({
        root,
        profile: PROFILE_ID,
        trustedKeys,
        healthCheck: () => {
          failedAt = performance.now();
          return Promise.resolve({ ok: false, reason: 'bench: failing on purpose' });
        },
        onEvent: (e) => {
          if (e.phase === 'rolled-back') rolledAt = performance.now();
        },
      });
      const result = await agent.install(next);
      if (result.status !== 'rolled-back' || rolledAt === 0) throw new Error(`bench rollback: ${result.message}`);
      const t0 = performance.now();
      const probe = await runSlotProbe(agent.slotDir(result.slot!), { deviceId: 'bench-install', brokerUrl: broker.url });
      const started = performance.now() - t0;
      if (!probe.ok) throw new Error(`bench rollback: the old slot does not start: ${probe.reason}`);
      rollbackMs.push(rolledAt - failedAt + started);
      agentMs.push(rolledAt - failedAt);
      // Baseline: the same start with nothing rolled back.
      const t1 = performance.now();
      await runSlotProbe(agent.slotDir(result.slot!), { deviceId: 'bench-install', brokerUrl: broker.url });
      startMs.push(performance.now() - t1);
    }
    const files = written.manifest.files.length;
    const bytes = written.manifest.files.reduce((n, f) => n + f.size, 0);
    return {
      bundle: { files, payloadBytes: bytes, bundleBytes: written.size, rounds: ROUNDS },
      install: { ms: median(installMs), durableCopyMs: median(copyMs), ratio: median(installMs) / median(copyMs) },
      rollback: {
        msToOldSlotRunning: median(rollbackMs),
        agentRollbackMs: median(agentMs),
        plainStartMs: median(startMs),
        ratio: median(rollbackMs) / median(startMs),
      },
    };
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runPackageInstallBench(), null, 2)}\n`);
}
