import { describe, expect, it } from 'vitest';
import { isAkbError } from './errors.js';
import { assertPortableDeviceId, portableDeviceIdProblem } from './device-id.js';

describe('portable device ids', () => {
  it('takes letters, digits, "_" and "-", 1 to 64 of them', () => {
    for (const id of ['cam-01', 'A_b-9', 'x', 'a'.repeat(64)]) expect(assertPortableDeviceId(id)).toBe(id);
  });

  it('refuses a "." (a NATS subject separator) and everything the device-id pattern refuses, saying why', () => {
    expect(portableDeviceIdProblem('cam.01')).toMatch(/NATS/);
    expect(portableDeviceIdProblem('')).toMatch(/empty/);
    expect(portableDeviceIdProblem('a'.repeat(65))).toMatch(/65 characters/);
    expect(portableDeviceIdProblem('cam 01')).toMatch(/" "/);
    expect(portableDeviceIdProblem('cam/01')).toMatch(/"\/"/);
    expect(portableDeviceIdProblem('cam+')).toMatch(/"\+"/);
    try {
      assertPortableDeviceId('pi.7');
      expect.unreachable();
    } catch (e) {
      expect(isAkbError(e) && e.code === 'BAD_DEVICE_ID' && e.exitCode === 2).toBe(true);
    }
  });
});
