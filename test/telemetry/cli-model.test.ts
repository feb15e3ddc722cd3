/**
 * The `akb telemetry` model and table without a broker: bounds (devices forgotten past the limit), the
 * session rule for late deaths, device globs, and a table that fits any width and height.
 */
import { describe, expect, it } from 'vitest';
import { FleetModel, deviceMatcher } from '../../toolkit/src/telemetry/model.js';
import { renderScreen } from '../../toolkit/src/telemetry/render.js';
import { RateMeter } from '../../toolkit/src/telemetry/view.js';
import { sample } from './cli-fleet.js';

const bytes = (s: string): Uint8Array => Buffer.from(s);
const tele = (id: string): [string, Uint8Array] => [`akb/v1/dev/${id}/telemetry`, bytes(sample(id, 1))];
const status = (id: string, state: 'online' | 'offline', session: number): [string, Uint8Array] => [
  `akb/v1/dev/${id}/status`,
  bytes(
    JSON.stringify(
      state === 'online'
        ? { v: 1, device: id, session, ts: 1, state, profile: 'jetson-orin-nano', bootTime: 1, versions: { runtime: '0.1.0', protocol: '1.2', models: [], kb: null }, capabilities: [] }
        : { v: 1, device: id, session, ts: 1, state, reason: 'will' },
    ),
  ),
];
// eslint-disable-next-line no-control-regex
const visible = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('FleetModel', () => {
  it('forgets the least recently heard device past maxDevices and counts it', () => {
    const model = new FleetModel({ maxDevices: 3 });
    for (const id of ['a', 'b', 'c']) model.apply(...tele(id), 1000);
    model.apply(...tele('a'), 2000);
    model.apply(...tele('d'), 3000);
    expect(model.list().map((r) => r.device)).toEqual(['a', 'c', 'd']);
    expect(model.counters.forgotten).toBe(1);
  });

  it('ignores a death of an earlier connection that arrives after a newer birth', () => {
    const model = new FleetModel();
    model.apply(...status('cam', 'online', 20));
    expect(model.apply(...status('cam', 'offline', 19))).toBeUndefined();
    expect(model.list()[0]!.state).toBe('online');
    expect(model.counters.stale).toBe(1);
    model.apply(...status('cam', 'offline', 20));
    expect(model.list()[0]!.state).toBe('offline');
  });

  it('ignores topics it does not read and refuses a bad alarm topic, without throwing', () => {
    const model = new FleetModel();
    expect(model.apply('akb/v1/dev/cam/link/tx', bytes('x'))).toBeUndefined();
    expect(model.apply('akb/v1/alarm/../x', bytes('{}'))).toBeUndefined();
    expect(model.apply('akb/v1/alarm/cam', bytes('{"v":1,"device":"cam","ts":1,"active":[1]}'))).toBeUndefined();
    expect(model.counters).toMatchObject({ messages: 1, malformed: 1 });
  });

  it('matches ids and globs, and refuses a pattern with a character no id has', () => {
    const m = deviceMatcher(['cam-*', 'gw.?']);
    expect(['cam-01', 'cam-', 'gw.1', 'gw.12', 'gwx1', 'xcam-1'].filter(m)).toEqual(['cam-01', 'cam-', 'gw.1']);
    expect(() => deviceMatcher(['cam/#'])).toThrow(/--device "cam\/#" is not a device id or glob/);
  });
});

describe('renderScreen', () => {
  const model = new FleetModel();
  for (let i = 0; i < 30; i++) model.apply(...tele(`device-with-a-long-name-${i}`), 1000);
  const input = { broker: 'mqtt://h:1', rows: model.list(), counters: model.counters, rate: 12.5, now: 5000, silentMs: 10_000, color: true };

  it('fits every width from 20 to 200 columns, colour codes taking none', () => {
    for (let width = 20; width <= 200; width += 7) {
      for (const l of renderScreen({ ...input, width, height: 50 })) expect(visible(l).length).toBeLessThanOrEqual(width);
    }
  });

  it('fits the height, summing up the rows it leaves out', () => {
    const lines = renderScreen({ ...input, width: 120, height: 10 });
    expect(lines).toHaveLength(10);
    expect(visible(lines[8]!)).toBe('… 24 more device(s) (narrow with --device)');
  });

  it('greys a device not heard of for longer than silentMs', () => {
    const lines = renderScreen({ ...input, rows: input.rows.slice(0, 1), width: 120, now: 20_000 });
    expect(lines[2]!.startsWith('\x1b[90mdevice-with-a-l…')).toBe(true);
    expect(visible(lines[0]!)).toContain('1 device(s), 0 live');
  });
});

describe('RateMeter', () => {
  it('counts messages per second over its window and forgets older ones', () => {
    const meter = new RateMeter(5);
    for (let i = 0; i < 50; i++) meter.add(10_000 + i * 100);
    expect(meter.rate(15_000)).toBeCloseTo(10, 5);
    expect(meter.rate(30_000)).toBe(0);
  });
});

describe('FleetModel default bound', () => {
  it('keeps at most 10,000 devices', () => {
    const model = new FleetModel();
    for (let i = 0; i <= 10_000; i++) model.apply(...tele(`d${i}`), i);
    expect(model.size).toBe(10_000);
    expect(model.counters.forgotten).toBe(1);
    expect(model.list()[0]!.device).toBe('d1');
  });
});
