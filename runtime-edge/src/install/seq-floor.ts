/**
 * The replay floors of signed messages (protocol 1.4, "Signed messages"): the largest `seq` accepted per
 * stream (`ota-offer`, `kb-announce`, `kb-entry-response`), kept in one small JSON file in the device's data
 * dir, `{"v":1,"floors":{"<stream>":<seq>}}`. A floor is written (temporary file, fsync, rename, fsync of
 * the folder) before the message that raised it is acted on, so a restart never lowers it. A missing file
 * is "nothing accepted yet"; a file over 64 KiB or malformed is an error (SEQ_STATE_CORRUPT): starting
 * from 0 would accept every replay, so the operator decides (delete it). A file this user may not read
 * (EACCES, EPERM) or that the disk cannot give back (EIO) is SEQ_STATE_UNREADABLE, naming its owner: it
 * is not corrupt, and deleting it would be the wrong fix. A floor that cannot be written (disk full,
 * read-only, permission) is one line (fs-errors.ts), the temporary file removed and the floor unchanged.
 */
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AkbError, SIG_MAX_SEQ } from '@akb/protocol';
import { describeDiskFault } from './fs-errors.js';
import { replaceFile } from './replace-file.js';

const MAX_FILE_BYTES = 64 * 1024;
const MAX_STREAMS = 64;
const STREAM = /^[a-z0-9-]{1,40}$/;

export class SeqFloors {
  private constructor(
    readonly path: string,
    private readonly floors: Map<string, number>,
  ) {}

  /** Reads the floors at `path` (none there: every floor 0). */
  static async open(path: string): Promise<SeqFloors> {
    const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw unreadable(path, e);
    });
    if (!info) return new SeqFloors(path, new Map());
    if (!info.isFile() || info.size > MAX_FILE_BYTES) throw corrupt(path, `not a file of at most ${MAX_FILE_BYTES} bytes`);
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw unreadable(path, e, info.uid);
    });
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw corrupt(path, `not JSON (${(e as Error).message.slice(0, 80)})`);
    }
    const floors = (doc as { v?: unknown; floors?: unknown } | null)?.floors;
    if ((doc as { v?: unknown } | null)?.v !== 1 || floors === null || typeof floors !== 'object' || Array.isArray(floors)) {
      throw corrupt(path, 'not {"v":1,"floors":{...}}');
    }
    const map = new Map<string, number>();
    for (const [stream, seq] of Object.entries(floors as Record<string, unknown>)) {
      if (!STREAM.test(stream) || typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > SIG_MAX_SEQ || map.size >= MAX_STREAMS) {
        throw corrupt(path, `bad entry ${JSON.stringify(stream).slice(0, 60)}`);
      }
      map.set(stream, seq);
    }
    return new SeqFloors(path, map);
  }

  /** The largest seq accepted on `stream` (0: none). */
  get(stream: string): number {
    return this.floors.get(stream) ?? 0;
  }

  /** Raises `stream`'s floor to `seq` and makes it durable before returning (a lower seq changes nothing). */
  async raise(stream: string, seq: number): Promise<void> {
    if (!STREAM.test(stream)) throw new AkbError('BAD_OPTION', `stream name ${JSON.stringify(stream)} is not [a-z0-9-]{1,40}`);
    if (seq <= this.get(stream)) return;
    const next = new Map(this.floors).set(stream, seq);
    await writeAtomically(this.path, `${JSON.stringify({ v: 1, floors: Object.fromEntries(next) })}\n`);
    this.floors.set(stream, seq);
  }
}

/** A floor file this process cannot read: not corrupt, so not to be deleted. */
function unreadable(path: string, e: NodeJS.ErrnoException, owner?: number): AkbError {
  const code = e.code ?? 'error';
  const denied = code === 'EACCES' || code === 'EPERM';
  const who = process.getuid?.();
  const message = denied
    ? `cannot read the replay floors in ${path}: permission denied (${code})${who === undefined ? '' : ` for uid ${who}`}${owner === undefined ? '' : `, the file belongs to uid ${owner}`}`
    : `cannot read the replay floors in ${path}: ${e.message.split('\n')[0]}`;
  return new AkbError('SEQ_STATE_UNREADABLE', message, {
    hint: denied
      ? `run akb-agent as the service user that owns it, or give it to the user akb-agent runs as (chown <user> ${path}); do not delete it`
      : 'check the storage (dmesg) and the file; do not delete it unless you accept that old signed messages may be replayed once',
    cause: e,
  });
}

function corrupt(path: string, why: string): AkbError {
  return new AkbError('SEQ_STATE_CORRUPT', `the replay floors in ${path} are unusable: ${why}`, {
    hint: 'delete the file only if you accept that messages signed before now may be replayed once; it is rewritten on the next accepted message',
  });
}

/** Writes `text` to `path` atomically; a disk fault is one line, the temporary file removed, `path` unchanged. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await replaceFile(path, text, 0o600);
  } catch (e) {
    throw await describeDiskFault(e, {
      doing: 'recording the replay floor',
      path: tmp,
      needs: Buffer.byteLength(text),
      left: 'the floor is unchanged and the message is not acted on',
      owned: dirname(path),
    });
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
