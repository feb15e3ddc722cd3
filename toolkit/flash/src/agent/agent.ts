/**
 * The install agent's core: two slots under an install root, a bundle installed into the inactive one,
 * verified (signature against the trusted keys, every file's size and SHA-256 as it streams in) before
 * anything is switched, a downgrade refused unless forced, the switch made atomic and durable, a health
 * check, and a rollback to the last known good when it fails. `akb-agent` and `akb install` wrap it; they
 * bring the health check (start the slot's runtime, connect, encode a probe image) and the status topic.
 *
 * An install, phase by phase (the events an `onEvent` listener sees, in this order):
 * 1. `verifying`: the lock is taken; the bundle's signature is checked by the reader, then the agent
 *    judges the manifest (this board's profile among its targets; not older than the running version, and
 *    not equal, unless forced). A refusal leaves every byte of the running slot and of state.json as it was.
 * 2. `writing`: the inactive slot is wiped and the payload streamed in, each file fsynced; the stored
 *    manifest and signature follow, then every folder is fsynced. state.json still names the running slot.
 * 3. `switching`: state.json becomes {active: new, lastGood: old, trial: true} (tmp, fsync, rename, fsync of
 *    the root), then `current` is pointed at the new slot.
 * 4. `health-check`, then `committed` (state {active: new, lastGood: new, trial: false}) or `rolled-back`
 *    (state and `current` back to the old slot; with no old slot, to none, and the event is `failed`).
 * A power cut anywhere leaves a state that `boot()` turns into a bootable slot (see boot.ts). Errors of the
 * disk (ENOSPC, EROFS, EIO) come out as one line (AkbError) with the running slot untouched.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { BundleManifest } from '@akb/protocol';
import { AkbError, isAkbError } from '@akb/protocol';
import type { BundleLimits } from '../bundle/limits.js';
import { readBundle, type BundleHeader } from '../bundle/read.js';
import type { TrustedKey } from '../keys.js';
import { bootAgent, type BootResult } from './boot.js';
import { diskError, errnoOf, nodeAgentFs, type AgentFs } from './fs.js';
import { acquireLock, holderAlive, releaseLock, type LockHolder } from './lock.js';
import { compareSemver } from './semver.js';
import { SlotWriter } from './slot-writer.js';
import { layout, otherSlot, pointCurrent, readState, writeState, type SlotId, type SlotRecord, type SlotState } from './state.js';

export type HealthResult = { ok: true; detail?: string } | { ok: false; reason: string };
export type HealthCheck = (slot: { id: SlotId; dir: string; manifest: BundleManifest }) => Promise<HealthResult>;

export interface AgentEvent {
  phase: 'verifying' | 'writing' | 'switching' | 'health-check' | 'committed' | 'rolled-back' | 'refused' | 'failed' | 'recovered';
  slot?: SlotId;
  bundle?: { name: string; version: string };
  message: string;
}

export interface InstallResult {
  status: 'committed' | 'rolled-back' | 'refused';
  /** The slot active when install returns (null: none). */
  slot: SlotId | null;
  message: string;
  /** For a refusal, the AkbError code (BUNDLE_*, WRONG_PROFILE, DOWNGRADE, ALREADY_INSTALLED). */
  code?: string;
}

export interface InstallAgentOptions {
  root: string;
  /** This board's profile id: a bundle not targeting it is refused. */
  profile: string;
  fs?: AgentFs;
  trustedKeys: readonly TrustedKey[];
  healthCheck: HealthCheck;
  onEvent?: (e: AgentEvent) => void;
  now?: () => Date;
  limits?: Partial<BundleLimits>;
  /** Whether the holder of a lock found at boot still runs (default: same kernel boot id and a live pid). */
  lockHolderAlive?: (holder: LockHolder) => boolean;
}

/** A refusal of the bundle itself (what the reader or the agent's rules refuse). */
class Refusal extends AkbError {}

export class InstallAgent {
  private readonly fs: AgentFs;
  private readonly root: string;
  private readonly now: () => Date;

  constructor(private readonly opts: InstallAgentOptions) {
    this.fs = opts.fs ?? nodeAgentFs();
    this.root = posix.resolve(opts.root);
    this.now = opts.now ?? (() => new Date());
  }

  slotDir(id: SlotId): string {
    return layout(this.root).slot(id);
  }

  /** The state on disk (an empty state when nothing was installed). */
  async state(): Promise<SlotState> {
    return (await readState(this.fs, this.root)).state;
  }

  /** Recovery after a crash or a reboot; run once when the agent starts, before any install. */
  async boot(): Promise<BootResult> {
    const result = await this.onDisk('booting', () =>
      bootAgent({ fs: this.fs, root: this.root, trustedKeys: this.opts.trustedKeys, now: this.now, lockHolderAlive: this.opts.lockHolderAlive ?? holderAlive }),
    );
    if (result.recovered) this.emit({ phase: 'recovered', ...(result.active ? { slot: result.active } : {}), message: result.message });
    return result;
  }

  async install(bundle: string | NodeJS.ReadableStream, opts: { force?: boolean } = {}): Promise<InstallResult> {
    await this.onDisk(`creating ${this.root}`, () => this.ensureRoot());
    await this.onDisk('taking the install lock', () => acquireLock(this.fs, this.root, this.now()));
    try {
      return await this.installLocked(bundle, opts.force === true);
    } finally {
      await releaseLock(this.fs, this.root);
    }
  }

  private async installLocked(bundle: string | NodeJS.ReadableStream, force: boolean): Promise<InstallResult> {
    const read = await this.onDisk('reading state.json', () => readState(this.fs, this.root));
    if (read.corrupt) throw new AkbError('BAD_STATE', `${layout(this.root).state} is not a slot state`, { hint: 'start the agent (boot) to rebuild it from the slots' });
    const state = read.state;
    if (state.trial) throw new AkbError('NOT_BOOTED', `slot ${state.active ?? '?'} is still on trial`, { hint: 'start the agent (boot) first: it rolls the trial back' });
    const from = state.active;
    const target = otherSlot(from);
    const writer = new SlotWriter(this.fs, this.slotDir(target));
    this.emit({ phase: 'verifying', slot: target, message: 'checking the bundle signature and manifest' });
    let header: BundleHeader;
    try {
      header = await readBundle(bundle, {
        trustedKeys: this.opts.trustedKeys,
        verify: true,
        ...(this.opts.limits ? { limits: this.opts.limits } : {}),
        onHeader: async (h) => {
          this.judge(h.manifest, from === null ? undefined : state.slots[from], force);
          this.emit({ phase: 'writing', slot: target, bundle: nameOf(h.manifest), message: `writing ${h.manifest.files.length} files into slot ${target}` });
          await writer.prepare();
        },
        sink: writer,
      });
    } catch (e) {
      return this.refuseOrThrow(e, writer, from, target);
    }
    const manifest = header.manifest;
    await this.onDisk(`writing slot ${target}`, () => writer.finish(header.manifestBytes, signatureBytesOf(header)));
    const record: SlotRecord = {
      name: manifest.name,
      version: manifest.version,
      created: manifest.created,
      manifestSha256: createHash('sha256').update(header.manifestBytes).digest('hex'),
      installedAt: this.now().toISOString(),
    };
    const slots = { ...state.slots, [target]: record };
    return this.switchAndCheck(state, { v: 1, active: target, lastGood: from, trial: true, slots }, manifest);
  }

  /** The agent's own rules over a manifest whose signature the reader has verified. */
  private judge(manifest: BundleManifest, running: SlotRecord | undefined, force: boolean): void {
    const what = `${manifest.name} ${manifest.version}`;
    if (!manifest.targetProfiles.includes(this.opts.profile)) {
      throw new Refusal('WRONG_PROFILE', `${what} targets ${manifest.targetProfiles.join(', ')}, not this board's profile ${this.opts.profile}`, {
        hint: `package it with --profile ${this.opts.profile}`,
      });
    }
    if (!running || force) return;
    const order = compareSemver(manifest.version, running.version);
    if (order < 0) {
      throw new Refusal('DOWNGRADE', `${what} is older than the running ${running.version}`, { hint: 'pass --force to downgrade on purpose' });
    }
    if (order === 0) {
      throw new Refusal('ALREADY_INSTALLED', `${what} is already installed (the running version)`, { hint: 'pass --force to install it again' });
    }
  }

  /** After the reader failed: a disk error becomes one line; a bad bundle becomes a refusal. */
  private async refuseOrThrow(e: unknown, writer: SlotWriter, from: SlotId | null, target: SlotId): Promise<InstallResult> {
    if (writer.started) await this.fs.rmTree(this.slotDir(target)).catch(() => undefined);
    if (writer.diskFailure !== undefined) throw diskError(writer.diskFailure, `writing slot ${target}`);
    if (!isAkbError(e)) throw e;
    const message = `bundle refused: ${e.toLine()}`;
    this.emit({ phase: 'refused', ...(from ? { slot: from } : {}), message });
    return { status: 'refused', slot: from, message, code: e.code };
  }

  /** Phases 3 and 4: the trial switch, the health check, then commit or roll back. */
  private async switchAndCheck(before: SlotState, trial: SlotState, manifest: BundleManifest): Promise<InstallResult> {
    const target = trial.active as SlotId;
    const from = before.active;
    const bundle = nameOf(manifest);
    this.emit({ phase: 'switching', slot: target, bundle, message: `switching to slot ${target} on trial` });
    try {
      await writeState(this.fs, this.root, trial);
      await pointCurrent(this.fs, this.root, target);
    } catch (e) {
      if (errnoOf(e) === undefined) throw e;
      const restored = await this.restore(before).then(
        () => true,
        () => false,
      );
      const left = restored ? 'the running slot is untouched' : `the next boot goes back to ${from === null ? 'no slot' : `slot ${from}`}`;
      throw diskError(e, `switching to slot ${target}`, left);
    }
    this.emit({ phase: 'health-check', slot: target, bundle, message: `health-checking slot ${target}` });
    const health = await this.check(target, manifest);
    const onTrial = `slot ${target} stays on trial and the next boot goes back to ${from === null ? 'no slot' : `slot ${from}`}`;
    if (health.ok) {
      await this.onDisk(`committing slot ${target}`, () => writeState(this.fs, this.root, { ...trial, lastGood: target, trial: false }), onTrial);
      const message = `slot ${target} committed: ${bundle.name} ${bundle.version}${health.detail ? ` (${health.detail})` : ''}`;
      this.emit({ phase: 'committed', slot: target, bundle, message });
      return { status: 'committed', slot: target, message };
    }
    await this.onDisk(`rolling back from slot ${target}`, () => this.restore({ ...trial, active: from, lastGood: from, trial: false }), onTrial);
    if (from === null) {
      const message = `health check of slot ${target} failed: ${health.reason}; no earlier slot to roll back to, so no slot is active`;
      this.emit({ phase: 'failed', slot: target, bundle, message });
      return { status: 'rolled-back', slot: null, message };
    }
    const message = `health check of slot ${target} failed: ${health.reason}; rolled back to slot ${from} (${before.slots[from]?.version ?? '?'})`;
    this.emit({ phase: 'rolled-back', slot: from, bundle, message });
    return { status: 'rolled-back', slot: from, message };
  }

  private async check(id: SlotId, manifest: BundleManifest): Promise<HealthResult> {
    try {
      return await this.opts.healthCheck({ id, dir: this.slotDir(id), manifest });
    } catch (e) {
      return { ok: false, reason: isAkbError(e) ? e.toLine() : e instanceof Error ? e.message : String(e) };
    }
  }

  /** Puts state.json and `current` back to `state`. */
  private async restore(state: SlotState): Promise<void> {
    await writeState(this.fs, this.root, state);
    await pointCurrent(this.fs, this.root, state.active);
  }

  private async ensureRoot(): Promise<void> {
    const stat = await this.fs.stat(this.root);
    if (stat?.kind === 'dir') return;
    if (stat) throw new AkbError('BAD_ROOT', `install root ${this.root} is not a folder`, { hint: 'pass a folder as --root' });
    await this.fs.mkdir(this.root);
    await this.fs.syncDir(parentOf(this.root));
  }

  /** Runs a disk step; an errno error becomes one line (AkbError) saying what was being done. */
  private async onDisk<T>(doing: string, step: () => Promise<T>, left?: string): Promise<T> {
    try {
      return await step();
    } catch (e) {
      throw diskError(e, doing, left);
    }
  }

  /** Delivers an event; a listener that throws cannot break an install. */
  private emit(e: AgentEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // a broken listener is its own problem
    }
  }
}

function nameOf(manifest: BundleManifest): { name: string; version: string } {
  return { name: manifest.name, version: manifest.version };
}

function parentOf(path: string): string {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The manifest.sig bytes to store: as they came in the bundle. */
function signatureBytesOf(header: BundleHeader): Buffer {
  return header.signatureBytes;
}
