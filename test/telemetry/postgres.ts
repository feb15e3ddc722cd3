/**
 * PostgreSQL for the tests: the server at 127.0.0.1:5432 (trust auth, database `test`), started when it is
 * installed but not running; a fresh schema per suite, dropped after. Absent, the suites are skipped with
 * a line naming the package, unless AKB_REQUIRE_ALL=1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { requireAll } from '../support/programs.js';

export const PG_BASE = process.env.AKB_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when the server answers, starting the installed cluster once if needed. */
export async function postgresAvailable(): Promise<boolean> {
  if (await reachable()) return true;
  if (existsSync('/etc/postgresql')) {
    for (const version of readdirSync('/etc/postgresql')) {
      try {
        execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore', timeout: 20_000 });
      } catch {
        // already running, or cannot start: reachable() decides
      }
    }
    if (await reachable()) return true;
  }
  if (requireAll()) return true;
  console.warn('skipping PostgreSQL suites: no server at 127.0.0.1:5432 (install it: apt-get install postgresql)');
  return false;
}

/** A new schema name; the store creates it, `dropSchema` removes it. */
export function freshSchema(): string {
  return `akb_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function schemaUrl(schema: string): string {
  return `${PG_BASE}?schema=${schema}`;
}

export async function pgQuery(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
