/** What the process and the board say about themselves: CPU use, resident memory, SoC temperature. */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

export const THERMAL_ZONE = '/sys/class/thermal/thermal_zone0/temp';

/** CPU use of this process between samples, as % of one core (may exceed 100 on several cores). */
export class CpuMeter {
  private last = process.cpuUsage();
  private lastAt = performance.now();

  sample(): number {
    const now = performance.now();
    const usage = process.cpuUsage(this.last);
    const wallUs = (now - this.lastAt) * 1000;
    this.last = process.cpuUsage();
    this.lastAt = now;
    if (!(wallUs > 0)) return 0;
    return Math.min(25_600, Math.max(0, (100 * (usage.user + usage.system)) / wallUs));
  }
}

/**
 * The board temperature in °C from a sysfs thermal zone (millidegrees), or undefined where there is none
 * or it reads as nonsense. Once the file is missing it is not tried again.
 */
export class Thermometer {
  private missing = false;

  constructor(readonly path: string = THERMAL_ZONE) {}

  async read(): Promise<number | undefined> {
    if (this.missing) return undefined;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      this.missing = true;
      return undefined;
    }
    const raw = Number.parseInt(text.trim(), 10);
    if (!Number.isFinite(raw)) return undefined;
    const c = Math.abs(raw) >= 1000 ? raw / 1000 : raw;
    return c >= -100 && c <= 200 ? c : undefined;
  }
}

/** The process's peak resident set (VmHWM), bytes; undefined where /proc is absent (not Linux). */
export function peakRssBytes(statusText?: string): number | undefined {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}
