/**
 * `openStore(url)`: the telemetry store `akb-cloud --db` names.
 *
 *   (none)                         SQLite at <data>/telemetry.sqlite
 *   sqlite:<path>  or  <path>      SQLite at that file (its folder is created)
 *   postgres://user[:pw]@host:port/db[?schema=name]   PostgreSQL (also postgresql://)
 *   memory:                        in memory, nothing kept across restarts
 *
 * The store's `location` (what akb-cloud prints) never holds a password.
 */
import { join, resolve } from 'node:path';
import { AkbError } from '@akb/protocol';
import type { TelemetryStore } from './store.js';
import { MemoryTelemetryStore } from './memory-store.js';

export interface OpenStoreOptions {
  /** The folder of the default SQLite file (default `.data/cloud`). */
  dataDir?: string;
}

export const DEFAULT_DATA_DIR = '.data/cloud';
export const DEFAULT_SQLITE_FILE = 'telemetry.sqlite';

export type StoreTarget = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string } | { readonly kind: 'memory' };

/** What `url` names, without opening anything. */
export function storeTarget(url: string | undefined, options: OpenStoreOptions = {}): StoreTarget {
  if (url === undefined || url === '') return { kind: 'sqlite', path: resolve(join(options.dataDir ?? DEFAULT_DATA_DIR, DEFAULT_SQLITE_FILE)) };
  if (url === 'memory:') return { kind: 'memory' };
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', url };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new AkbError('BAD_DB_URL', '--db sqlite: names no file', { hint: 'e.g. --db sqlite:/var/lib/akb/telemetry.sqlite' });
    return { kind: 'sqlite', path: resolve(path) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) {
    throw new AkbError('BAD_DB_URL', `--db: ${scheme[1]}:// is not a supported store`, { hint: 'use sqlite:<path>, a file path, postgres://… or memory:' });
  }
  return { kind: 'sqlite', path: resolve(url) };
}

/** Opens the store `url` names (see the file header); throws an AkbError that says what to do. */
export async function openStore(url: string | undefined, options: OpenStoreOptions = {}): Promise<TelemetryStore> {
  const target = storeTarget(url, options);
  if (target.kind === 'memory') return new MemoryTelemetryStore();
  if (target.kind === 'postgres') {
    const { PostgresTelemetryStore } = await import('./postgres-store.js');
    return PostgresTelemetryStore.open(target.url);
  }
  const { SqliteTelemetryStore } = await import('./sqlite-store.js');
  return SqliteTelemetryStore.open(target.path);
}
