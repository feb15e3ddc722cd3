import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresTelemetryStore, postgresTarget } from '../../runtime-cloud/src/telemetry/postgres-store.js';
import { dropSchema, freshSchema, pgQuery, postgresAvailable, schemaUrl } from './postgres.js';
import { storeSuite } from './store-suite.js';

const available = await postgresAvailable();
const schemas: string[] = [];
let current = '';

describe.skipIf(!available)('PostgreSQL', () => {
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  storeSuite('telemetry store: PostgreSQL', {
    open: () => {
      current = freshSchema();
      schemas.push(current);
      return PostgresTelemetryStore.open(schemaUrl(current));
    },
    reopen: () => PostgresTelemetryStore.open(schemaUrl(current)),
    setSchemaVersion: async (v) => {
      await pgQuery(`UPDATE "${current}".schema_version SET version = $1`, [v]);
    },
  });

  describe('telemetry store: PostgreSQL specifics', () => {
    const schema = freshSchema();
    beforeAll(() => void schemas.push(schema));

    it('keeps messages as JSONB, so SQL (and Grafana) can read a field', async () => {
      const s = await PostgresTelemetryStore.open(schemaUrl(schema));
      const { sample } = await import('./fixtures.js');
      await s.writeTelemetry([{ device: 'cam-01', ts: 1, receivedAt: 2, message: sample('cam-01', 0, { snrDb: -3.25 }) }]);
      await s.close();
      const r = await pgQuery(`SELECT (message->>'snrDb')::float8 AS snr, jsonb_typeof(message) AS t FROM "${schema}".telemetry`);
      expect(r.rows).toEqual([{ snr: -3.25, t: 'object' }]);
    });

    it('two clouds opening one new schema at once both succeed (the schema is created under a lock)', async () => {
      const shared = freshSchema();
      schemas.push(shared);
      const both = await Promise.all([PostgresTelemetryStore.open(schemaUrl(shared)), PostgresTelemetryStore.open(schemaUrl(shared))]);
      const r = await pgQuery(`SELECT version FROM "${shared}".schema_version`);
      expect(r.rows).toEqual([{ version: 1 }]);
      for (const s of both) await s.close();
    });

    it('never prints the password, and refuses a schema name that is not a plain SQL name', () => {
      const t = postgresTarget('postgres://akb:s3cret@db.example:5433/tele?schema=fleet_a&sslmode=require');
      expect(t.location).toBe('postgres://akb@db.example:5433/tele?schema=fleet_a');
      expect(t.connectionString).toContain('s3cret');
      expect(t.connectionString).not.toContain('schema=');
      expect(() => postgresTarget('postgres://h/db?schema=a";drop')).toThrow(/is not a plain SQL name/);
    });

    it('says which server it could not reach, without the password', async () => {
      const refused = PostgresTelemetryStore.open('postgres://akb:s3cret@127.0.0.1:1/none');
      await expect(refused).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(refused).rejects.toThrow(/telemetry store postgres:\/\/akb@127\.0\.0\.1:1\/none: opening failed/);
      await expect(refused).rejects.not.toThrow(/s3cret/);
    });
  });
});
