/**
 * The fleet registry with the install agent's statuses in the stream. Thrown at it: an "updating" status
 * (the agent's own, newer session) between a device's birth and its death; a malformed one.
 */
import { describe, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import type { AkbMessage } from '@akb/protocol/mqtt';
import { FleetRegistry } from './fleet.js';

const device = 'cam-01';
const message = (payload: object): AkbMessage => ({ topic: topics.status(device), payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: true });
const birth = { v: 1, device, session: 10, ts: 1, state: 'online', profile: 'rpi-5', bootTime: 1, versions: { runtime: '0.1.0', protocol: '1.0', models: [], kb: null, bundle: '1.0.0', slot: 'A' }, capabilities: [] };
const updating = { v: 1, device, session: 20, ts: 2, state: 'updating', phase: 'health-check', bundle: { name: 'akb-edge-rpi-5', version: '1.1.0' }, slot: 'B', message: 'probing slot B' };
const death = { v: 1, device, session: 10, ts: 3, state: 'offline', reason: 'shutdown' };

describe('FleetRegistry and install statuses', () => {
  it('leaves presence to births and deaths: an updating status changes nothing', () => {
    const fleet = new FleetRegistry(() => 0);
    expect(fleet.accept(message(birth))?.state).toBe('online');
    expect(fleet.accept(message(updating))).toBeUndefined();
    expect(fleet.get(device)).toMatchObject({ state: 'online', session: 10, profile: 'rpi-5' });
    expect(fleet.accept(message(death))?.state).toBe('offline');
    expect(fleet.malformed).toBe(0);
    expect(fleet.stale).toBe(0);
  });

  it('counts an updating status with an unknown phase as malformed', () => {
    const fleet = new FleetRegistry(() => 0);
    expect(fleet.accept(message({ ...updating, phase: 'downloading' }))).toBeUndefined();
    expect(fleet.malformed).toBe(1);
  });
});
