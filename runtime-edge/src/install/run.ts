/**
 * What `akb-agent` (main.ts) and `akb install` (the host CLI, a folder standing for the board) both run:
 * the InstallAgent of @akb/flash with this side's parts plugged in: the trusted keys from files, the
 * health check that starts the new slot's own runtime (health.ts), and the status reporter (reporter.ts).
 * An install first runs the agent's boot recovery (as systemd's ExecStartPre would), so a slot left on
 * trial by a crash is rolled back before anything new is written. A fault of the device's disk (full,
 * read-only, permission refused) comes out as one line naming the path, and for a full disk the bytes the
 * bundle's payload needs and those free (fs-errors.ts); the agent has by then removed what it half wrote.
 */
import { AkbError } from '@akb/protocol';
import { InstallAgent, loadTrustedKeys, nodeAgentFs, readBundle, readState, slotLayout, type AgentFs, type BootResult, type HealthCheck, type InstallResult, type SlotState } from '@akb/flash';
import { describeDiskFault, errnoCause } from './fs-errors.js';
import { probeHealthCheck, DEFAULT_HEALTH_TIMEOUT_S } from './health.js';
import { StatusReporter } from './reporter.js';

export interface AgentRunOptions {
  /** Install root (slot-a, slot-b, state.json, current). */
  root: string;
  /** This board's profile id: bundles not targeting it are refused. */
  profile: string;
  /** Trusted public keys: files or folders of `*.pub`. */
  trust: readonly string[];
  deviceId: string;
  /** Broker for the status reports and the probe; none: events are printed only (the probe still needs one). */
  brokerUrl?: string;
  username?: string;
  password?: string;
  /** The probe's time limit, seconds (default 120). */
  healthTimeoutS?: number;
  /** Extra arguments for the probe (e.g. `--backends onnxruntime-web-wasm`). */
  probeArgs?: readonly string[];
  /** Replaces the probe (akb install --no-probe: a folder for a board of another architecture). */
  healthCheck?: HealthCheck;
  out: (line: string) => void;
  fs?: AgentFs;
}

function positiveSeconds(value: number | undefined): number {
  if (value === undefined) return DEFAULT_HEALTH_TIMEOUT_S;
  if (!Number.isFinite(value) || value < 1 || value > 24 * 3600) {
    throw new AkbError('BAD_OPTION', `--health-timeout ${value} is not a number of seconds from 1 to 86400`, { exitCode: 2 });
  }
  return value;
}

async function withAgent<T>(o: AgentRunOptions, fn: (agent: InstallAgent) => Promise<T>): Promise<T> {
  const timeoutMs = positiveSeconds(o.healthTimeoutS) * 1000;
  const trustedKeys = await loadTrustedKeys(o.trust);
  // With no key, boot would find no slot verifying and deactivate the running one: refuse instead.
  if (trustedKeys.length === 0) {
    throw new AkbError('NO_TRUSTED_KEYS', `no trusted keys in ${o.trust.join(', ') || '(none given)'}: nothing could be verified, so nothing is installed or recovered`, {
      hint: "put the release key's .pub in /etc/akb/keys, or pass --trust <pub|folder>",
    });
  }
  const reporter = await StatusReporter.open({ deviceId: o.deviceId, brokerUrl: o.brokerUrl, username: o.username, password: o.password, out: o.out });
  const healthCheck =
    o.healthCheck ??
    (o.brokerUrl
      ? probeHealthCheck({ deviceId: o.deviceId, brokerUrl: o.brokerUrl, timeoutMs, ...(o.probeArgs ? { extraArgs: o.probeArgs } : {}) })
      : () => Promise.resolve({ ok: false as const, reason: 'no broker configured for the probe (pass --broker <url>)' }));
  const agent = new InstallAgent({
    root: o.root,
    profile: o.profile,
    trustedKeys,
    healthCheck,
    onEvent: (e) => reporter.report(e),
    ...(o.fs ? { fs: o.fs } : {}),
  });
  try {
    return await fn(agent);
  } finally {
    await reporter.close();
  }
}

/** The bytes of `bundle`'s payload (its manifest's file sizes), or undefined when it cannot be read. */
export async function payloadBytes(bundle: string): Promise<number | undefined> {
  try {
    const { manifest } = await readBundle(bundle, { trustedKeys: [], verify: false, headerOnly: true });
    return manifest.files.reduce((sum, f) => sum + f.size, 0);
  } catch {
    return undefined;
  }
}

/** A disk fault of `root` as one line naming the path (and the bundle's size when the disk is full). */
export async function explainInstallFault(e: unknown, root: string, doing: string, bundle?: string): Promise<unknown> {
  const errno = errnoCause(e);
  if (errno === undefined) return e;
  const needs = bundle !== undefined && errno.code === 'ENOSPC' ? await payloadBytes(bundle) : undefined;
  // The folder to give the service user: the install root, unless the path refused lies elsewhere (a key file).
  const at = errno.path;
  const owned = at === undefined || at === root || at.startsWith(`${root.replace(/\/+$/, '')}/`) ? root : at;
  return describeDiskFault(e, { doing, path: root, owned, left: 'the running slot is untouched', ...(needs !== undefined ? { needs } : {}) });
}

/** Recovers, then installs `bundle`; refusals and rollbacks are results, disk and usage errors throw. */
export async function installBundle(bundle: string, o: AgentRunOptions & { force?: boolean }): Promise<InstallResult> {
  try {
    return await withAgent(o, async (agent) => {
      await agent.boot();
      return agent.install(bundle, { force: o.force ?? false });
    });
  } catch (e) {
    throw await explainInstallFault(e, o.root, `installing ${bundle}`, bundle);
  }
}

/** The boot recovery alone (systemd's ExecStartPre). */
export async function bootSlots(o: AgentRunOptions): Promise<BootResult> {
  try {
    return await withAgent(o, (agent) => agent.boot());
  } catch (e) {
    throw await explainInstallFault(e, o.root, 'recovering the slots');
  }
}

export interface SlotStatus {
  root: string;
  state: SlotState;
  /** state.json exists but is not a slot state (boot rebuilds it). */
  corrupt: boolean;
  slots: { A: string; B: string };
}

/** What is installed under `root`, read only. */
export async function slotStatus(root: string, fs: AgentFs = nodeAgentFs()): Promise<SlotStatus> {
  const read = await readState(fs, root);
  const paths = slotLayout(root);
  return { root, state: read.state, corrupt: read.corrupt, slots: { A: paths.slot('A'), B: paths.slot('B') } };
}

/** Human lines for a SlotStatus. */
export function describeSlotStatus(s: SlotStatus): string[] {
  if (s.corrupt) return [`${s.root}: state.json is not a slot state (akb-agent boot rebuilds it from the slots)`];
  const { state } = s;
  const lines = [`${s.root}: active ${state.active ?? 'none'}, last known good ${state.lastGood ?? 'none'}${state.trial ? ', on trial' : ''}`];
  for (const id of ['A', 'B'] as const) {
    const r = state.slots[id];
    lines.push(`  slot ${id} (${s.slots[id]}): ${r ? `${r.name} ${r.version}, built ${r.created}, installed ${r.installedAt}` : 'empty'}`);
  }
  return lines;
}

export type { InstallResult, BootResult };
