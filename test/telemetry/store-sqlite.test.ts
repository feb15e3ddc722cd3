import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteTelemetryStore } from '../../runtime-cloud/src/telemetry/sqlite-store.js';
import { openStore, storeTarget } from '../../runtime-cloud/src/telemetry/open-store.js';
import { storeSuite } from './store-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'akb-store-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let current = '';

storeSuite('telemetry store: SQLite', {
  open: () => SqliteTelemetryStore.open((current = join(dir, `t${++n}`, 'telemetry.sqlite'))),
  reopen: () => SqliteTelemetryStore.open(current),
  setSchemaVersion: (v) => {
    const db = new Database(current);
    db.prepare('UPDATE schema_version SET version = ?').run(v);
    db.close();
    return Promise.resolve();
  },
});

describe('telemetry store: SQLite specifics', () => {
  it('uses WAL and indexes (device, received_at)', async () => {
    const path = join(dir, 'wal', 'telemetry.sqlite');
    const s = await SqliteTelemetryStore.open(path);
    await s.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const cols = db.prepare("SELECT name FROM pragma_index_info('telemetry_device_time')").all() as { name: string }[];
    expect(cols.map((c) => c.name)).toEqual(['device', 'received_at']);
    db.close();
  });

  it('openStore: the default file under the data folder, sqlite:<path>, a plain path, memory:, and refuses other schemes', async () => {
    expect(storeTarget(undefined, { dataDir: '/data' })).toEqual({ kind: 'sqlite', path: '/data/telemetry.sqlite' });
    expect(storeTarget('sqlite:/x/t.db')).toEqual({ kind: 'sqlite', path: '/x/t.db' });
    expect(storeTarget('/y/t.db')).toEqual({ kind: 'sqlite', path: '/y/t.db' });
    expect(storeTarget('memory:')).toEqual({ kind: 'memory' });
    expect(() => storeTarget('mysql://u:p@h/db')).toThrow(/mysql:\/\/ is not a supported store/);
    expect(() => storeTarget('sqlite:')).toThrow(/names no file/);
    const s = await openStore(undefined, { dataDir: join(dir, 'default') });
    expect(s.kind).toBe('sqlite');
    expect(s.location).toBe(join(dir, 'default', 'telemetry.sqlite'));
    await s.close();
  });

  it('refuses a file that is not a database, saying which file', async () => {
    const path = join(dir, 'not-a-db.sqlite');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, 'this is not SQLite '.repeat(100));
    await expect(SqliteTelemetryStore.open(path)).rejects.toThrow(new RegExp(`telemetry store ${path}: opening failed: file is not a database`));
  });
});
