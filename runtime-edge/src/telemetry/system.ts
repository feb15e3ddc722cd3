/** What the process and the board say about themselves: CPU use, resident memory, SoC temperature. */
import { readFile } from 'node:fs/promises';

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
