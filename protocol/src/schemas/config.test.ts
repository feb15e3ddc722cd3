/**
 * The edge configuration's link sections as the drivers take them: the serial section (modem as a
 * discriminated object, duty cycle as a share or a region, the tile budget) and sdr-udp's pacing rate.
 * Bad input is refused with the field named (SCHEMA_VIOLATION at a path).
 */
import { describe, expect, it } from 'vitest';
import { validateMessage } from '../messages.js';
import { EdgeConfig } from './config.js';

function refusal(value: unknown): { code?: string; message: string } {
  try {
    validateMessage('edge-config', value);
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  throw new Error('accepted');
}

describe('edge configuration: serial link', () => {
  it('takes an RN2483 with its LoRa settings and fills the defaults', () => {
    const c = EdgeConfig.parse({ deviceId: 'field-07', link: { driver: 'serial', path: '/dev/ttyUSB0', modem: { kind: 'rn2483', sf: 12 } } });
    expect(c.link).toEqual({
      driver: 'serial',
      path: '/dev/ttyUSB0',
      modem: { kind: 'rn2483', sf: 12, bwKhz: 125, cr: 1 },
      mtu: 1024,
      dutyCycle: 'none',
      tileBudgetMs: 1000,
    });
  });

  it('takes an E32 (packets of 58 bytes by default), a duty cycle as a share or a region, retries and timeouts', () => {
    const e32 = EdgeConfig.parse({
      deviceId: 'x',
      link: { driver: 'serial', path: 'tty', baudRate: 9600, modem: { kind: 'e32', airBitsPerSecond: 2400 }, dutyCycle: 0.01, maxRetries: 0, responseTimeoutMs: 500, tileBudgetMs: 0 },
    });
    expect(e32.link).toMatchObject({ modem: { kind: 'e32', airBitsPerSecond: 2400, packetBytes: 58 }, dutyCycle: 0.01, maxRetries: 0, responseTimeoutMs: 500, tileBudgetMs: 0 });
    const eu = EdgeConfig.parse({ deviceId: 'x', link: { driver: 'serial', path: 'tty', modem: { kind: 'rn2483', sf: 7 }, dutyCycle: 'eu868-g1' } });
    expect(eu.link).toMatchObject({ dutyCycle: 'eu868-g1' });
  });

  it.each([
    ['sf 13', { modem: { kind: 'rn2483', sf: 13 } }, 'link.modem.sf'],
    ['a bandwidth of 200 kHz', { modem: { kind: 'rn2483', sf: 7, bwKhz: 200 } }, 'link.modem.bwKhz'],
    ['coding rate 5', { modem: { kind: 'rn2483', sf: 7, cr: 5 } }, 'link.modem.cr'],
    ['an unknown modem', { modem: { kind: 'xbee' } }, 'link.modem.kind'],
    ['the old modem string', { modem: 'rn2483' }, 'link.modem'],
    ['an E32 packet of 300 bytes', { modem: { kind: 'e32', airBitsPerSecond: 2400, packetBytes: 300 } }, 'link.modem.packetBytes'],
    ['an unknown field in the modem', { modem: { kind: 'rn2483', sf: 7, power: 14 } }, 'link.modem'],
    ['the old framing field', { modem: { kind: 'rn2483', sf: 7 }, framing: 'slip' }, 'link'],
    ['an MTU of 32', { modem: { kind: 'rn2483', sf: 7 }, mtu: 32 }, 'link.mtu'],
    ['a duty cycle of 0', { modem: { kind: 'rn2483', sf: 7 }, dutyCycle: 0 }, 'link.dutyCycle'],
    ['an unknown region', { modem: { kind: 'rn2483', sf: 7 }, dutyCycle: 'mars' }, 'link.dutyCycle'],
    ['a negative tile budget', { modem: { kind: 'rn2483', sf: 7 }, tileBudgetMs: -1 }, 'link.tileBudgetMs'],
  ])('refuses %s, naming the field', (_, change, path) => {
    const r = refusal({ deviceId: 'x', link: { driver: 'serial', path: '/dev/ttyUSB0', ...change } });
    expect(r.code).toBe('SCHEMA_VIOLATION');
    expect(r.message).toContain(path);
  });
});

describe('edge configuration: sdr-udp link', () => {
  it('carries the pacing rate (default 1 MS/s) and the tile budget', () => {
    const c = EdgeConfig.parse({ deviceId: 'x', link: { driver: 'sdr-udp', port: 52001 } });
    expect(c.link).toMatchObject({ sampleRateHz: 1e6, tileBudgetMs: 1000 });
    expect(refusal({ deviceId: 'x', link: { driver: 'sdr-udp', port: 52001, sampleRateHz: 10 } }).message).toContain('link.sampleRateHz');
  });
});
