/**
 * Which installed bundle and slot the runtime runs from, for the birth's `versions.bundle` and
 * `versions.slot`. The slot launchers (bin/akb-edge of a bundle) export AKB_SLOT_DIR; the bundle is read
 * from that slot's `.akb/manifest.json` and the slot from the folder's name (`slot-a`, `slot-b`, after
 * resolving links such as `current`), else from the install root's `state.json` when its active slot's
 * record names this manifest's SHA-256. These files are hostile input like any other: sizes are bounded
 * before reading, the manifest must pass the bundle schema, and anything that does not is reported as a
 * reason and left out of the birth rather than trusted.
 */
import { createHash } from 'node:crypto';
import { open, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BundleManifest } from '@akb/protocol';

/** Largest manifest read (the bundle reader's default `maxManifestBytes`). */
export const MAX_SLOT_MANIFEST_BYTES = 8 * 1024 * 1024;
/** Largest state.json read (two short slot records). */
export const MAX_SLOT_STATE_BYTES = 64 * 1024;

export type SlotLetter = 'A' | 'B';

export interface InstalledSlot {
  /** The bundle's artifact name and version. */
  name: string;
  version: string;
  slot: SlotLetter;
  dir: string;
}

export type SlotInfoResult = { ok: true; installed: InstalledSlot } | { ok: false; reason: string };

/** Reads a file of at most `max` bytes; a larger one is refused before anything is allocated for it. */
export async function readBounded(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} is not a regular file`);
    if (info.size > max) throw new Error(`${path} is ${info.size} bytes, more than the ${max} read`);
    const buffer = Buffer.alloc(info.size);
    let at = 0;
    while (at < info.size) {
      const { bytesRead } = await handle.read(buffer, at, info.size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buffer.subarray(0, at);
  } finally {
    await handle.close();
  }
}

function slotFromName(dir: string): SlotLetter | undefined {
  const name = basename(dir);
  return name === 'slot-a' ? 'A' : name === 'slot-b' ? 'B' : undefined;
}

/** The root's active slot when its record names the manifest whose SHA-256 is `manifestSha256`. */
async function slotFromState(root: string, manifestSha256: string): Promise<SlotLetter | undefined> {
  let state: unknown;
  try {
    state = JSON.parse((await readBounded(join(root, 'state.json'), MAX_SLOT_STATE_BYTES)).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof state !== 'object' || state === null) return undefined;
  const { active, slots } = state as { active?: unknown; slots?: unknown };
  if ((active !== 'A' && active !== 'B') || typeof slots !== 'object' || slots === null) return undefined;
  const record = (slots as Record<string, unknown>)[active];
  if (typeof record !== 'object' || record === null) return undefined;
  return (record as { manifestSha256?: unknown }).manifestSha256 === manifestSha256 ? active : undefined;
}

/** The bundle and slot of `slotDir` (AKB_SLOT_DIR), or why they cannot be told. */
export async function readInstalledSlot(slotDir: string): Promise<SlotInfoResult> {
  let dir: string;
  let bytes: Buffer;
  try {
    dir = await realpath(slotDir);
    bytes = await readBounded(join(dir, '.akb', 'manifest.json'), MAX_SLOT_MANIFEST_BYTES);
  } catch (e) {
    return { ok: false, reason: `cannot read the slot's manifest: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ok: false, reason: `${join(dir, '.akb', 'manifest.json')} is not JSON` };
  }
  const parsed = BundleManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${join(dir, '.akb', 'manifest.json')} is no bundle manifest (${issue?.path.join('.') || 'root'}: ${issue?.message ?? 'invalid'})` };
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  const slot = slotFromName(dir) ?? (await slotFromState(dirname(dir), sha));
  if (slot === undefined) return { ok: false, reason: `${dir} is neither slot-a nor slot-b, and the root's state.json does not name its manifest as active` };
  return { ok: true, installed: { name: parsed.data.name, version: parsed.data.version, slot, dir } };
}

/**
 * The birth's `installed` from AKB_SLOT_DIR: undefined when the runtime does not run from a slot, or when
 * the slot cannot be told (then `warn` gets one line saying why, and the birth leaves both fields out).
 */
export async function installedFromEnv(
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): Promise<{ version: string; slot: SlotLetter } | undefined> {
  const dir = env.AKB_SLOT_DIR;
  if (!dir) return undefined;
  const info = await readInstalledSlot(dir);
  if (!info.ok) {
    warn(`akb-edge: AKB_SLOT_DIR ${dir}: ${info.reason}; the birth names no bundle`);
    return undefined;
  }
  return { version: info.installed.version, slot: info.installed.slot };
}
