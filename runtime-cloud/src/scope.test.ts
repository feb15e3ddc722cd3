import { describe, expect, it } from 'vitest';
import { DeviceScope } from './scope.js';

describe('DeviceScope (akb-cloud --devices)', () => {
  it('defaults to every device, through the wildcard filter', () => {
    const all = DeviceScope.all();
    expect([all.everything, all.has('anything'), all.describe()]).toEqual([true, true, 'every device']);
    expect(all.filters('link/rx')).toEqual(['akb/v1/dev/+/link/rx']);
    expect(DeviceScope.parse('*').everything).toBe(true);
  });

  it('subscribes named ids one by one', () => {
    const s = DeviceScope.parse(['cam-01, cam-02', 'pi.7']);
    expect(s.exact).toBe(true);
    expect(s.filters('status')).toEqual(['akb/v1/dev/cam-01/status', 'akb/v1/dev/cam-02/status', 'akb/v1/dev/pi.7/status']);
    expect([s.has('cam-01'), s.has('pi.7'), s.has('cam-03'), s.has('pix7')]).toEqual([true, true, false, false]);
  });

  it('takes a pattern through the wildcard filter plus a check', () => {
    const s = DeviceScope.parse('cam-*,lab-?,pi.1');
    expect(s.exact).toBe(false);
    expect(s.filters('kb/req')).toEqual(['akb/v1/dev/+/kb/req']);
    expect(['cam-', 'cam-9', 'lab-a', 'lab-ab', 'pi.1', 'pix1', 'xcam-1'].map((d) => s.has(d))).toEqual([true, true, true, false, true, false, false]);
    expect(s.describe()).toBe('pi.1,cam-*,lab-?');
  });

  it.each([
    ['', 'name at least one'],
    ['cam-01,,cam-02', 'empty item'],
    ['..', 'not "." or ".."'],
    ['cam/01', 'a device id is'],
    ['cam-+', 'a device id is'],
    ['cam-#*', 'a pattern is'],
    ['x'.repeat(65), 'a device id is'],
  ])('refuses %j with one line that says why', (spec, why) => {
    // Thrown at it: empty lists, topic separators and MQTT wildcards, "..", an id of 65 characters.
    let error: unknown;
    try {
      DeviceScope.parse(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'BAD_DEVICES' });
    expect((error as Error).message).toContain(why);
  });
});
