/**
 * The edge side of source-KB sync (protocol/PROTOCOL.md, "KB sync" and "Signed messages"): reads the
 * retained `kb-announce`, and when it names a KB other than the one held, fetches every entry with
 * `kb.entries` requests on this device's `kb/req` (answers on its `kb/res`, 64 entries a page), checks the
 * KB digest against the announce and only then replaces `<dir>/kb.json` (temporary file, fsync, rename).
 *
 * Every announce and every entry response must be signed by a trusted key (the trust store bundles and
 * OTA offers use) for the topic it came on, unexpired, with a seq above the last one accepted on its
 * stream (`kb-announce`, `kb-entry-response`; floors in `<dir>/signed-seq.json`, written before the message
 * is acted on; an announce equal to the floor is the retained one again and changes nothing). With
 * `allowUnsigned` a message without `sig` passes too (no seq to check); one that has a `sig` is still
 * verified. A refused announce is ignored; a refused response, one that does not match what was asked or
 * announced, or a digest mismatch ends the sync: the KB held stays as it was. Each refusal is counted by
 * its reason and logged. The announced size (entries × dims × 4 bytes) is bounded before anything is fetched.
 */
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AkbError,
  KB_ENTRIES_OP,
  KB_MAX_PAGE,
  checkSeq,
  decodeEmbedding,
  decodeMessage,
  isAkbError,
  kbDigest,
  topics,
  validateMessage,
  verifySigned,
  type KbAnnounce,
  type KbEntry,
  type MessageOf,
  type SigKey,
  type SignedKind,
} from '@akb/protocol';
import { RpcClient, errorText, type AkbMessage, type MqttTransport } from '@akb/protocol/mqtt';
import { SeqFloors } from '../install/seq-floor.js';

export interface KbSyncOptions {
  transport: MqttTransport;
  deviceId: string;
  /** The edge's data dir: the KB held (`kb.json`) and the replay floors (`signed-seq.json`). */
  dir: string;
  /** The trust store: keys whose signatures are accepted. */
  trustedKeys: readonly SigKey[];
  /** Accept announces and responses without `sig` (default false). */
  allowUnsigned?: boolean;
  /** Largest KB taken, bytes of embeddings (entries × dims × 4; default 64 MiB). */
  maxBytes?: number;
  /** Time limit of one kb.entries request (ms, default 10 000). */
  timeoutMs?: number;
  now?: () => number;
  out?: (line: string) => void;
}

/** The KB held: what `<dir>/kb.json` stores. */
export interface SyncedKb {
  v: 1;
  kbVersion: number;
  sha256: string;
  dims: number;
  created: string;
  entries: KbEntry[];
}

export interface KbSyncStats {
  announces: number;
  pages: number;
  /** KBs fetched, verified and stored. */
  synced: number;
  /** Messages or syncs refused, by reason (SIG_*, KB_MISMATCH, KB_DIGEST_MISMATCH, KB_TOO_LARGE, ...). */
  refusals: Record<string, number>;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export class KbSync {
  readonly stats: KbSyncStats = { announces: 0, pages: 0, synced: 0, refusals: {} };
  private floors: SeqFloors | undefined;
  private held: SyncedKb | undefined;
  private rpc: RpcClient | undefined;
  private off: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private waiters: (() => void)[] = [];

  constructor(private readonly o: KbSyncOptions) {
    this.now = o.now ?? Date.now;
  }

  get path(): string {
    return join(this.o.dir, 'kb.json');
  }

  /** The KB held, if any. */
  current(): SyncedKb | undefined {
    return this.held;
  }

  async start(): Promise<void> {
    this.floors = await SeqFloors.open(join(this.o.dir, 'signed-seq.json'));
    this.held = await this.load();
    this.rpc = new RpcClient(this.o.transport, {
      requestTopic: topics.kb(this.o.deviceId, 'req'),
      replyTopic: topics.kb(this.o.deviceId, 'res'),
      from: this.o.deviceId,
      timeoutMs: this.o.timeoutMs ?? 10_000,
    });
    await this.rpc.start();
    this.off = this.o.transport.onMessage(topics.kbAnnounce(), (m) => {
      this.chain = this.chain.then(() => this.onAnnounce(m)).catch((e: unknown) => this.say(`kb sync: ${errorText(e)}`)).finally(() => this.wake());
    });
    await this.o.transport.subscribe(topics.kbAnnounce(), { qos: 1 });
  }

  /** Resolves once every announce received so far has been handled (synced or refused). */
  async settled(): Promise<void> {
    await this.chain;
  }

  /** Resolves after the next announce has been handled. */
  nextHandled(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.off?.();
    await this.o.transport.unsubscribe(topics.kbAnnounce()).catch(() => undefined);
    await this.chain;
    await this.rpc?.stop();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private say(line: string): void {
    this.o.out?.(`akb-edge kb: ${line}`);
  }

  private refuse(code: string, message: string): void {
    this.stats.refusals[code] = (this.stats.refusals[code] ?? 0) + 1;
    this.say(`refused: ${code}: ${message}`);
  }

  /** Signature and replay rule for one message; returns the message, or undefined when refused. */
  private async accept<K extends SignedKind>(kind: K, raw: unknown, topic: string, stream: string, duplicateOk: boolean): Promise<MessageOf<K> | undefined> {
    let checked;
    let fresh = false;
    try {
      checked = verifySigned(kind, raw, topic, this.o.trustedKeys, { now: this.now(), allowUnsigned: this.o.allowUnsigned ?? false });
      if (checked.sig) {
        fresh = checkSeq(kind, checked.sig.seq, this.floors!.get(stream)) === 'new';
        if (!fresh && !duplicateOk) throw new AkbError('SIG_REPLAYED', `${kind}: seq ${checked.sig.seq} was accepted already (a replayed message)`);
      }
    } catch (e) {
      this.refuse(isAkbError(e) ? e.code : 'SIG_BAD', errorText(e));
      return undefined;
    }
    if (fresh) await this.floors!.raise(stream, checked.sig!.seq);
    return checked.message;
  }

  private async onAnnounce(m: AkbMessage): Promise<void> {
    let raw: unknown;
    try {
      decodeMessage('kb-announce', m.payload);
      raw = JSON.parse(Buffer.from(m.payload).toString('utf8'));
    } catch (e) {
      return this.refuse(isAkbError(e) ? e.code : 'BAD_JSON', errorText(e));
    }
    this.stats.announces++;
    const a = await this.accept('kb-announce', raw, topics.kbAnnounce(), 'kb-announce', true);
    if (!a) return;
    if (this.held && this.held.kbVersion === a.kbVersion && this.held.sha256 === a.sha256) return;
    const bytes = a.entries * a.dims * 4;
    const max = this.o.maxBytes ?? DEFAULT_MAX_BYTES;
    if (bytes > max) return this.refuse('KB_TOO_LARGE', `KB ${a.kbVersion} is ${a.entries} entries × ${a.dims} dims = ${bytes} bytes; this edge takes at most ${max}`);
    await this.sync(a);
  }

  private async sync(a: KbAnnounce): Promise<void> {
    const entries: KbEntry[] = [];
    const resTopic = topics.kb(this.o.deviceId, 'res');
    while (entries.length < a.entries) {
      const offset = entries.length;
      const count = Math.min(KB_MAX_PAGE, a.entries - offset);
      let raw: unknown;
      try {
        raw = await this.rpc!.request(KB_ENTRIES_OP, { kbVersion: a.kbVersion, offset, count });
      } catch (e) {
        return this.refuse(isAkbError(e) ? e.code : 'KB_FETCH_FAILED', `fetching KB ${a.kbVersion} at ${offset}: ${errorText(e)}`);
      }
      const page = await this.accept('kb-entry-response', raw, resTopic, 'kb-entry-response', false);
      if (!page) return;
      this.stats.pages++;
      if (page.kbVersion !== a.kbVersion || page.offset !== offset || page.total !== a.entries || page.dims !== a.dims || page.entries.length !== count) {
        return this.refuse('KB_MISMATCH', `a page of KB ${page.kbVersion} (offset ${page.offset}, ${page.entries.length} entries, total ${page.total}, dims ${page.dims}) is not what was asked (KB ${a.kbVersion}, offset ${offset}, ${count} entries, total ${a.entries}, dims ${a.dims})`);
      }
      entries.push(...page.entries);
    }
    const digest = kbDigest(entries.map((e) => ({ embedding: decodeEmbedding(e.embedding), prior: e.prior })));
    if (digest !== a.sha256) return this.refuse('KB_DIGEST_MISMATCH', `the entries of KB ${a.kbVersion} hash to ${digest.slice(0, 16)}…, the announce says ${a.sha256.slice(0, 16)}…`);
    const kb: SyncedKb = { v: 1, kbVersion: a.kbVersion, sha256: a.sha256, dims: a.dims, created: a.created, entries };
    await this.store(kb);
    this.held = kb;
    this.stats.synced++;
    this.say(`KB ${a.kbVersion} (${a.entries} entries × ${a.dims}) verified and stored in ${this.path}`);
  }

  private async store(kb: SyncedKb): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(kb));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }

  /** The KB stored by an earlier run, when it is whole (its digest matches); otherwise none. */
  private async load(): Promise<SyncedKb | undefined> {
    const limit = 2 * (this.o.maxBytes ?? DEFAULT_MAX_BYTES) + 1024 * 1024;
    try {
      const st = await stat(this.path);
      if (!st.isFile() || st.size > limit) throw new Error(`not a file of at most ${limit} bytes`);
      const kb = JSON.parse(await readFile(this.path, 'utf8')) as SyncedKb;
      if (kb.v !== 1 || !Array.isArray(kb.entries)) throw new Error('not a stored KB');
      validateMessage('kb-announce', { v: 1, kbVersion: kb.kbVersion, entries: kb.entries.length, dims: kb.dims, sha256: kb.sha256, created: kb.created, ts: 0 });
      for (let at = 0; at < kb.entries.length; at += KB_MAX_PAGE) {
        const entries = kb.entries.slice(at, at + KB_MAX_PAGE);
        validateMessage('kb-entry-response', { kbVersion: kb.kbVersion, offset: at, total: kb.entries.length, dims: kb.dims, entries });
      }
      const digest = kbDigest(kb.entries.map((e) => ({ embedding: decodeEmbedding(e.embedding), prior: e.prior })));
      if (digest !== kb.sha256) throw new Error('its digest does not match');
      return kb;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.say(`ignoring ${this.path}: ${errorText(e)}`);
      return undefined;
    }
  }
}
