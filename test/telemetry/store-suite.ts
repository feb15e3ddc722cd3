/**
 * One suite for every TelemetryStore: SQLite (store-sqlite.test.ts), PostgreSQL (store-postgres.test.ts)
 * and memory (store-memory.test.ts). Each runner gives a fresh, empty store per test, and for the SQL
 * stores a way to reopen the same database and to write a newer schema version into it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AlarmMessage, StatusMessage, TelemetryMessage } from '@akb/protocol';
import { MAX_QUERY_ROWS, type StoredTelemetry, type TelemetryStore } from '../../runtime-cloud/src/telemetry/store.js';
import { alarmState, birth, death, sample } from './fixtures.js';

export interface StoreHarness {
  /** A fresh, empty store. */
  open(): Promise<TelemetryStore>;
  /** The same database again (SQL stores only). */
  reopen?(): Promise<TelemetryStore>;
  /** Writes schema version `v` into the database, as a newer akb-cloud would (SQL stores only). */
  setSchemaVersion?(v: number): Promise<void>;
}

const T0 = 1_767_225_600_000;

function rows(device: string, n: number, start = T0, step = 1000): StoredTelemetry[] {
  return Array.from({ length: n }, (_, i) => ({ device, ts: start + i * step - 7, receivedAt: start + i * step, message: sample(device, i) }));
}

export function storeSuite(title: string, h: StoreHarness): void {
  describe(title, () => {
    const open: TelemetryStore[] = [];
    const fresh = async (): Promise<TelemetryStore> => {
      const s = await h.open();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });

    it('gives back what it stored, message for message, each valid by its schema', async () => {
      const s = await fresh();
      const t = rows('cam-01', 3);
      await s.writeTelemetry(t);
      await s.writeStatus([{ device: 'cam-01', receivedAt: T0, message: birth('cam-01') }, { device: 'cam-01', receivedAt: T0 + 5, message: death('cam-01', 'will') }]);
      await s.writeAlarms([{ device: 'cam-01', receivedAt: T0 + 9, message: alarmState('cam-01', T0 + 9, ['silent', 'memory']) }]);
      const got = await s.telemetry({ device: 'cam-01' });
      expect(got).toEqual(t);
      for (const r of got) expect(TelemetryMessage.parse(r.message)).toEqual(r.message);
      const st = await s.status({ device: 'cam-01' });
      expect(st.map((r) => r.message.state)).toEqual(['online', 'offline']);
      for (const r of st) StatusMessage.parse(r.message);
      const al = await s.alarms({ device: 'cam-01' });
      expect(al).toHaveLength(1);
      expect(AlarmMessage.parse(al[0]!.message).active.map((a) => a.kind)).toEqual(['silent', 'memory']);
      expect(s.location).not.toMatch(/:[^/@]*@/); // no password in what is printed
    });

    it('answers a range: from inclusive, to exclusive, the newest `limit` rows oldest first, one device only', async () => {
      const s = await fresh();
      await s.writeTelemetry(rows('cam-01', 10));
      await s.writeTelemetry(rows('cam-02', 4));
      const range = await s.telemetry({ device: 'cam-01', from: T0 + 2000, to: T0 + 6000 });
      expect(range.map((r) => r.receivedAt)).toEqual([T0 + 2000, T0 + 3000, T0 + 4000, T0 + 5000]);
      const newest = await s.telemetry({ device: 'cam-01', limit: 3 });
      expect(newest.map((r) => r.message.seq)).toEqual([7, 8, 9]);
      expect(await s.telemetry({ device: 'cam-03' })).toEqual([]);
      expect((await s.telemetry({ device: 'cam-02' })).every((r) => r.device === 'cam-02')).toBe(true);
    });

    it('keeps the order of rows received in the same millisecond', async () => {
      const s = await fresh();
      await s.writeTelemetry(rows('cam-01', 5, T0, 0));
      expect((await s.telemetry({ device: 'cam-01' })).map((r) => r.message.seq)).toEqual([0, 1, 2, 3, 4]);
      expect((await s.telemetry({ device: 'cam-01', limit: 2 })).map((r) => r.message.seq)).toEqual([3, 4]);
    });

    it('clamps a limit to 1..MAX_QUERY_ROWS (a limit of 0, -5 or NaN gives the default or one row, never everything)', async () => {
      const s = await fresh();
      await s.writeTelemetry(rows('cam-01', 5));
      expect(await s.telemetry({ device: 'cam-01', limit: 0 })).toHaveLength(1);
      expect(await s.telemetry({ device: 'cam-01', limit: -5 })).toHaveLength(1);
      expect(await s.telemetry({ device: 'cam-01', limit: Number.NaN })).toHaveLength(5);
      expect(await s.telemetry({ device: 'cam-01', limit: MAX_QUERY_ROWS * 10 })).toHaveLength(5);
    });

    it('writes a batch of 2000 rows in one call, and several batches at once', async () => {
      const s = await fresh();
      await s.writeTelemetry(rows('cam-01', 2000));
      await Promise.all([s.writeTelemetry(rows('a', 50)), s.writeTelemetry(rows('b', 50)), s.writeStatus([{ device: 'a', receivedAt: T0, message: birth('a') }])]);
      const stats = await s.stats();
      expect(stats).toMatchObject({ telemetryRows: 2100, statusRows: 1, alarmRows: 0, devices: 3 });
      expect(stats.kind).toBe(s.kind);
    });

    it('refuses a batch with a bad row and writes none of it (a device id with a slash, a NaN time)', async () => {
      const s = await fresh();
      const good = rows('cam-01', 3);
      const badId = [...good, { ...good[0]!, device: 'cam/01' }];
      await expect(s.writeTelemetry(badId)).rejects.toMatchObject({ code: 'STORE_BAD_ROW' });
      const badTime = [...good, { ...good[0]!, receivedAt: Number.NaN }];
      await expect(s.writeTelemetry(badTime)).rejects.toMatchObject({ code: 'STORE_BAD_ROW' });
      expect(await s.telemetry({ device: 'cam-01' })).toEqual([]);
    });

    it('lists devices with telemetry, sorted, with first and last seen and the count', async () => {
      const s = await fresh();
      await s.writeTelemetry(rows('zeta', 2, T0 + 100));
      await s.writeTelemetry(rows('Alpha', 3));
      await s.writeTelemetry(rows('alpha', 1));
      await s.writeStatus([{ device: 'status-only', receivedAt: T0, message: birth('status-only') }]);
      expect(await s.devices()).toEqual([
        { device: 'Alpha', firstSeen: T0, lastSeen: T0 + 2000, samples: 3 },
        { device: 'alpha', firstSeen: T0, lastSeen: T0, samples: 1 },
        { device: 'zeta', firstSeen: T0 + 100, lastSeen: T0 + 1100, samples: 2 },
      ]);
    });

    it('prunes everything received before the cut, in every table, and says how much', async () => {
      const s = await fresh();
      await s.writeTelemetry(rows('cam-01', 10));
      await s.writeStatus([{ device: 'cam-01', receivedAt: T0, message: birth('cam-01') }, { device: 'cam-01', receivedAt: T0 + 9000, message: birth('cam-01', 101) }]);
      await s.writeAlarms([{ device: 'cam-01', receivedAt: T0 + 1000, message: alarmState('cam-01', T0 + 1000) }]);
      expect(await s.prune(T0 + 5000)).toEqual({ telemetry: 5, status: 1, alarms: 1 });
      expect((await s.telemetry({ device: 'cam-01' })).map((r) => r.receivedAt)[0]).toBe(T0 + 5000);
      expect(await s.prune(T0 + 5000)).toEqual({ telemetry: 0, status: 0, alarms: 0 });
      expect(await s.stats()).toMatchObject({ telemetryRows: 5, statusRows: 1, alarmRows: 0 });
    });

    it('refuses every call once closed (STORE_CLOSED)', async () => {
      const s = await h.open();
      await s.close();
      await expect(s.writeTelemetry(rows('cam-01', 1))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(s.telemetry({ device: 'cam-01' })).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await s.close(); // twice is harmless
    });

    if (h.reopen !== undefined && h.setSchemaVersion !== undefined) {
      const reopen = h.reopen.bind(h);
      const setVersion = h.setSchemaVersion.bind(h);
      it('keeps its rows across a reopen (the schema is created once)', async () => {
        const s = await h.open();
        await s.writeTelemetry(rows('cam-01', 4));
        await s.close();
        const again = await reopen();
        open.push(again);
        expect(await again.telemetry({ device: 'cam-01' })).toHaveLength(4);
      });

      it('refuses a database whose schema is newer than this code (STORE_SCHEMA_NEWER), and leaves it alone', async () => {
        const s = await h.open();
        await s.writeTelemetry(rows('cam-01', 2));
        await s.close();
        await setVersion(99);
        const refused = reopen();
        await expect(refused).rejects.toMatchObject({ code: 'STORE_SCHEMA_NEWER' });
        await expect(refused).rejects.toThrow(/schema version 99; this akb-cloud knows versions up to 1/);
        await setVersion(1);
        const again = await reopen();
        open.push(again);
        expect(await again.telemetry({ device: 'cam-01' })).toHaveLength(2);
      });
    }
  });
}
