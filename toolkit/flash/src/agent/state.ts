/**
 * The slot layout under an install root (toolkit/flash/README.md, "Slot layout on a board") and its state
 * file. `state.json` says which slot is active, which is the last known good, and whether the active one is
 * on trial (switched to, not yet health-checked). It is only ever replaced whole: written to
 * `state.json.tmp`, fsynced, renamed over `state.json`, and the root folder fsynced, so after a power cut
 * the disk holds the old or the new state, never a mix. `current` (a symbolic link to the active slot) is
 * replaced the same way, and is rebuilt from `state.json` at boot.
 */
import { posix } from 'node:path';
import { errnoOf, writeFileSynced, type AgentFs } from './fs.js';

export type SlotId = 'A' | 'B';
export const SLOT_IDS: readonly SlotId[] = ['A', 'B'];

export interface SlotRecord {
  name: string;
  version: string;
  created: string;
  /** SHA-256 of the slot's `.akb/manifest.json`, as it came in the bundle. */
  manifestSha256: string;
  installedAt: string;
}

export interface SlotState {
  v: 1;
  active: SlotId | null;
  lastGood: SlotId | null;
  trial: boolean;
  slots: Partial<Record<SlotId, SlotRecord>>;
}

/** Largest state.json read (a state file holds two short records). */
export const MAX_STATE_BYTES = 64 * 1024;

/** The state of a root where nothing was installed (a fresh object each time). */
export function emptyState(): SlotState {
  return { v: 1, active: null, lastGood: null, trial: false, slots: {} };
}

/** Paths of the layout under `root`. */
export function layout(root: string) {
  return {
    root,
    state: posix.join(root, 'state.json'),
    stateTmp: posix.join(root, 'state.json.tmp'),
    current: posix.join(root, 'current'),
    currentTmp: posix.join(root, 'current.tmp'),
    lock: posix.join(root, 'install.lock'),
    slotName: (id: SlotId) => `slot-${id.toLowerCase()}`,
    slot: (id: SlotId) => posix.join(root, `slot-${id.toLowerCase()}`),
  };
}

export function otherSlot(id: SlotId | null): SlotId {
  return id === 'A' ? 'B' : 'A';
}

const isSlot = (v: unknown): v is SlotId => v === 'A' || v === 'B';
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

function parseRecord(v: unknown): SlotRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const ok =
    isText(r.name, 64) && isText(r.version, 128) && isText(r.created, 64) && isText(r.installedAt, 64) &&
    typeof r.manifestSha256 === 'string' && /^[0-9a-f]{64}$/.test(r.manifestSha256);
  if (!ok) return undefined;
  return { name: r.name as string, version: r.version as string, created: r.created as string, manifestSha256: r.manifestSha256 as string, installedAt: r.installedAt as string };
}

/** Parses state.json's bytes; undefined when they are not a state of version 1. */
export function parseState(bytes: Buffer): SlotState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  if (s.v !== 1 || typeof s.trial !== 'boolean') return undefined;
  if (!(s.active === null || isSlot(s.active)) || !(s.lastGood === null || isSlot(s.lastGood))) return undefined;
  if (typeof s.slots !== 'object' || s.slots === null) return undefined;
  const slots: Partial<Record<SlotId, SlotRecord>> = {};
  for (const [key, value] of Object.entries(s.slots)) {
    const record = parseRecord(value);
    if (!isSlot(key) || !record) return undefined;
    slots[key] = record;
  }
  return { v: 1, active: s.active, lastGood: s.lastGood, trial: s.trial, slots };
}

/** The state on disk: emptyState() when there is no state.json; `corrupt` when it cannot be read as one. */
export async function readState(fs: AgentFs, root: string): Promise<{ state: SlotState; found: boolean; corrupt: boolean }> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(layout(root).state, MAX_STATE_BYTES);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT') return { state: emptyState(), found: false, corrupt: false };
    if (errno === 'EFBIG' || errno === 'EISDIR' || errno === 'ELOOP') return { state: emptyState(), found: true, corrupt: true };
    throw e;
  }
  const state = parseState(bytes);
  return state ? { state, found: true, corrupt: false } : { state: emptyState(), found: true, corrupt: true };
}

/** Replaces state.json atomically and durably: tmp, fsync, rename, fsync of the root folder. */
export async function writeState(fs: AgentFs, root: string, state: SlotState): Promise<void> {
  const paths = layout(root);
  await writeFileSynced(fs, paths.stateTmp, Buffer.from(JSON.stringify(state, null, 2) + '\n'));
  await fs.rename(paths.stateTmp, paths.state);
  await fs.syncDir(root);
}

/** Points `current` at the slot (or removes it for null), replacing the link by rename, durably. */
export async function pointCurrent(fs: AgentFs, root: string, id: SlotId | null): Promise<void> {
  const paths = layout(root);
  if (id === null) {
    if (await fs.stat(paths.current)) await fs.unlink(paths.current);
  } else {
    if (await fs.stat(paths.currentTmp)) await fs.unlink(paths.currentTmp);
    await fs.symlink(paths.slotName(id), paths.currentTmp);
    await fs.rename(paths.currentTmp, paths.current);
  }
  await fs.syncDir(root);
}

/** What `current` points at, as a slot id; undefined when it is missing or points elsewhere. */
export async function readCurrent(fs: AgentFs, root: string): Promise<SlotId | undefined> {
  const paths = layout(root);
  const stat = await fs.stat(paths.current);
  if (stat?.kind !== 'symlink') return undefined;
  const target = await fs.readlink(paths.current);
  return SLOT_IDS.find((id) => paths.slotName(id) === target);
}
