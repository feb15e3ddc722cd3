/**
 * LoRa time on air against published figures (The Things Network's airtime calculator, which implements
 * Semtech's formula: a 51-byte application payload is a 64-byte PHY payload with LoRaWAN's 13 bytes) and
 * the duty-cycle window. Thrown at it: payloads of 256 and −1 bytes, a duty cycle of 0.
 */
import { describe, expect, it } from 'vitest';
import { DutyCycle, loraBitRate, loraTimeOnAirMs, transparentTimeOnAirMs } from './airtime.js';
import { LineSplitter, parseReply } from './rn2483.js';

describe('LoRa time on air', () => {
  it('matches the published figures for 64-byte PHY payloads at SF7 and SF12, 125 kHz, CR 4/5', () => {
    expect(loraTimeOnAirMs(64, { sf: 7, bwKhz: 125, cr: 1 })).toBeCloseTo(118.016, 3);
    // SF12 at 125 kHz turns low data-rate optimisation on by itself (a 32.768 ms symbol).
    expect(loraTimeOnAirMs(64, { sf: 12, bwKhz: 125, cr: 1 })).toBeCloseTo(2793.472, 3);
    expect(loraTimeOnAirMs(64, { sf: 12, bwKhz: 125, cr: 1, lowDataRateOptimize: false })).toBeLessThan(2793);
  });

  it('grows with the payload, the coding rate and the spreading factor; the header and CRC cost symbols', () => {
    const p = { sf: 9 as const, bwKhz: 125 as const, cr: 1 as const };
    expect(loraTimeOnAirMs(100, p)).toBeGreaterThan(loraTimeOnAirMs(50, p));
    expect(loraTimeOnAirMs(50, { ...p, cr: 4 })).toBeGreaterThan(loraTimeOnAirMs(50, p));
    expect(loraTimeOnAirMs(50, { ...p, explicitHeader: false, crc: false })).toBeLessThan(loraTimeOnAirMs(50, p));
    expect(loraBitRate({ sf: 7, bwKhz: 125, cr: 1 })).toBeCloseTo(5468.75, 2);
    expect(transparentTimeOnAirMs(58, 2400)).toBeCloseTo(193.333, 3);
  });

  it('refuses payloads a LoRa packet cannot hold', () => {
    expect(() => loraTimeOnAirMs(256, { sf: 7, bwKhz: 125, cr: 1 })).toThrow(/0–255 bytes, got 256/u);
    expect(() => loraTimeOnAirMs(-1, { sf: 7, bwKhz: 125, cr: 1 })).toThrow(/got -1/u);
  });
});

describe('DutyCycle', () => {
  it('allows airtime up to its share of the window, and again once the window has moved on', () => {
    let t = 0;
    const d = new DutyCycle({ dutyCycle: 0.01, windowMs: 100_000, now: () => t });
    expect(d.budgetMs).toBe(1000);
    expect(d.allows(600)).toBe(true);
    d.record(600);
    t = 50_000;
    expect(d.allows(500)).toBe(false);
    expect(d.allows(400)).toBe(true);
    d.record(400);
    t = 100_001;
    expect(d.usedMs()).toBe(400);
    expect(d.allows(600)).toBe(true);
  });

  it('refuses a duty cycle outside (0, 1]', () => {
    expect(() => new DutyCycle({ dutyCycle: 0 })).toThrow(/in \(0, 1\], got 0/u);
  });
});

describe('RN2483 replies', () => {
  it('classifies answers, received packets, the banner and noise', () => {
    expect(parseReply('ok')).toEqual({ kind: 'ok' });
    expect(parseReply('4294967245')).toEqual({ kind: 'number', value: 4294967245 });
    expect(parseReply('radio_rx  0A0B')).toEqual({ kind: 'radio_rx', payload: new Uint8Array([10, 11]) });
    expect(parseReply('RN2483 1.0.5 Oct 31 2018 15:06:52').kind).toBe('banner');
    expect(parseReply('radio_rx  0A0').kind).toBe('garbage');
    expect(parseReply('#$%').kind).toBe('garbage');
  });

  it('bounds a line: 10,000 bytes without a newline are one overflow, not a 10 kB string', () => {
    const lines: string[] = [];
    let overflows = 0;
    const s = new LineSplitter((l) => lines.push(l), () => overflows++);
    s.push(new Uint8Array(10_000).fill(0x41));
    s.push(new TextEncoder().encode('\r\nok\r\n'));
    expect(overflows).toBe(1);
    expect(lines).toEqual(['ok']);
  });
});

describe('SerialLink options', () => {
  it('refuses a bad region, packet size or MTU before touching the port (the path does not exist)', async () => {
    const { SerialLink } = await import('../drivers/serial/index.js');
    const path = '/nonexistent/tty';
    const lora = { kind: 'rn2483' as const, sf: 7 as const, bwKhz: 125 as const, cr: 1 as const };
    await expect(SerialLink.open({ path, modem: lora, dutyCycle: 'eu433' as never })).rejects.toMatchObject({ code: 'BAD_OPTION', message: 'unknown duty-cycle region "eu433"' });
    await expect(SerialLink.open({ path, modem: { kind: 'e32', airBitsPerSecond: 2400, packetBytes: 10 } })).rejects.toMatchObject({ code: 'BAD_OPTION', message: 'a modem packet is 16–255 bytes, got 10' });
    await expect(SerialLink.open({ path, modem: lora, mtu: 32 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(SerialLink.open({ path, modem: lora, dutyCycle: 'eu868-g1' })).rejects.toMatchObject({ code: 'PORT_OPEN', message: expect.stringContaining(path) as unknown as string });
  });
});
