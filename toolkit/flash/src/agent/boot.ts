/**
 * What the agent does when it starts (after a reboot, a crash or a power cut), before any install:
 * - a lock whose holder is gone is removed; a live holder means an install is running, and boot does
 *   nothing;
 * - leftovers of an interrupted replace (`state.json.tmp`, `current.tmp`) are removed;
 * - a slot left on trial (switched to, never health-checked to the end) is rolled back to the last known
 *   good, or to none when there was none;
 * - the active slot is verified (signature, every file's size and SHA-256, the manifest the state
 *   recorded); one that fails gives way to the last known good when that verifies, else to none;
 * - a state.json that cannot be read is rebuilt from the slots: the verifying slot of highest version;
 * - the record of an inactive slot whose stored manifest is gone or different (it was being rewritten)
 *   is dropped;
 * - `current` is made to point at the active slot (removed when there is none).
 * A half-written inactive slot is otherwise left alone: the next install wipes it.
 */
import { createHash } from 'node:crypto';
import type { TrustedKey } from '../keys.js';
import { errnoOf, type AgentFs } from './fs.js';
import { readLock, releaseLock, type LockHolder } from './lock.js';
import { compareSemver } from './semver.js';
import { layout, pointCurrent, readCurrent, readState, SLOT_IDS, writeState, type SlotId, type SlotState } from './state.js';
import { slotMetaPaths, verifySlot } from './verify-slot.js';
import { DEFAULT_BUNDLE_LIMITS } from '../bundle/limits.js';

export interface BootContext {
  fs: AgentFs;
  root: string;
  trustedKeys: readonly TrustedKey[];
  lockHolderAlive: (holder: LockHolder) => boolean;
  now: () => Date;
}

export interface BootResult {
  active: SlotId | null;
  recovered: boolean;
  message: string;
}

async function removeIfThere(fs: AgentFs, path: string): Promise<boolean> {
  if (!(await fs.stat(path))) return false;
  await fs.unlink(path);
  return true;
}

/** SHA-256 of a slot's stored manifest, or undefined when it is missing or odd. */
async function storedManifestSha(fs: AgentFs, dir: string): Promise<string | undefined> {
  try {
    const bytes = await fs.readFile(slotMetaPaths(dir).manifest, DEFAULT_BUNDLE_LIMITS.maxManifestBytes);
    return createHash('sha256').update(bytes).digest('hex');
  } catch (e) {
    if (errnoOf(e) === undefined) throw e;
    return undefined;
  }
}

/** A state from the slots alone: the verifying slot of highest version becomes active and last good. */
async function rebuildState(ctx: BootContext): Promise<SlotState> {
  const state: SlotState = { v: 1, active: null, lastGood: null, trial: false, slots: {} };
  for (const id of SLOT_IDS) {
    const verdict = await verifySlot(ctx.fs, layout(ctx.root).slot(id), ctx.trustedKeys);
    if (!verdict.ok) continue;
    const { name, version, created } = verdict.manifest;
    state.slots[id] = { name, version, created, manifestSha256: verdict.manifestSha256, installedAt: ctx.now().toISOString() };
    const best = state.active === null ? undefined : state.slots[state.active];
    if (!best || compareSemver(version, best.version) > 0) state.active = id;
  }
  state.lastGood = state.active;
  return state;
}

/** Whether slot `id` verifies and holds the manifest the state recorded for it. */
async function bootable(ctx: BootContext, state: SlotState, id: SlotId): Promise<{ ok: boolean; reason: string }> {
  const verdict = await verifySlot(ctx.fs, layout(ctx.root).slot(id), ctx.trustedKeys);
  if (!verdict.ok) return { ok: false, reason: verdict.reason };
  if (verdict.manifestSha256 !== state.slots[id]?.manifestSha256) return { ok: false, reason: 'it holds another manifest than state.json records' };
  return { ok: true, reason: '' };
}

export async function bootAgent(ctx: BootContext): Promise<BootResult> {
  const { fs, root } = ctx;
  const paths = layout(root);
  if ((await fs.stat(root))?.kind !== 'dir') return { active: null, recovered: false, message: `nothing is installed in ${root}` };
  const lock = await readLock(fs, root);
  if (lock?.holder && ctx.lockHolderAlive(lock.holder)) {
    const { state } = await readState(fs, root);
    return { active: state.active, recovered: false, message: `an install is running (pid ${lock.holder.pid}); nothing done` };
  }
  const notes: string[] = [];
  if (lock) {
    await releaseLock(fs, root);
    notes.push('removed a stale install lock');
  }
  const leftovers = [await removeIfThere(fs, paths.stateTmp), await removeIfThere(fs, paths.currentTmp)];
  if (leftovers.includes(true)) await fs.syncDir(root);

  const read = await readState(fs, root);
  let state = read.state;
  let recovered = false;
  if (read.corrupt) {
    state = await rebuildState(ctx);
    recovered = true;
    notes.push(`state.json was unreadable; rebuilt from the slots (active ${state.active ?? 'none'})`);
  }
  const next: SlotState = { ...state, slots: { ...state.slots } };
  if (next.trial) {
    const from = next.active;
    next.active = next.lastGood;
    next.trial = false;
    recovered = true;
    notes.push(`slot ${from ?? '?'} was on trial when the agent stopped; rolled back to ${next.active ?? 'no slot (none was good before)'}`);
  }
  if (next.active !== null) {
    const check = await bootable(ctx, next, next.active);
    if (!check.ok) {
      const from = next.active;
      const fallback = next.lastGood !== null && next.lastGood !== from && (await bootable(ctx, next, next.lastGood)).ok ? next.lastGood : null;
      next.active = fallback;
      next.lastGood = fallback;
      recovered = true;
      notes.push(`slot ${from} does not verify (${check.reason}); ${fallback ? `switched to slot ${fallback}` : 'no slot is active'}`);
    }
  }
  for (const id of SLOT_IDS) {
    const record = next.slots[id];
    if (id === next.active || !record) continue;
    if ((await storedManifestSha(fs, paths.slot(id))) !== record.manifestSha256) delete next.slots[id];
  }
  if (read.corrupt || JSON.stringify(next) !== JSON.stringify(state)) await writeState(fs, root, next);
  if ((await readCurrent(fs, root)) !== (next.active ?? undefined) || (next.active === null && (await fs.stat(paths.current)))) {
    await pointCurrent(fs, root, next.active);
  }
  const active = next.active;
  notes.push(active ? `slot ${active} is active (${next.slots[active]?.name ?? '?'} ${next.slots[active]?.version ?? '?'})` : 'no slot is active');
  return { active, recovered, message: notes.join('; ') };
}
