// @ts-check
/**
 * The page's model of the fleet, fed by the WebSocket's snapshot and events (runtime-cloud/src/dashboard/
 * views.ts: LiveMessage) and by the stored history of the selected device (/api/devices/{id}/telemetry).
 * Bounded like the server: at most MAX_DEVICES devices (the least recently heard of is forgotten), the
 * last MAX_POINTS samples per device, the newest MAX_IMAGES reconstructions, MAX_JOBS jobs.
 */

export const MAX_DEVICES = 10000;
export const MAX_POINTS = 600;
export const MAX_IMAGES = 12;
export const MAX_JOBS = 100;

/**
 * @typedef {{ t: number[], snr: (number|null)[], psnr: (number|null)[], uses: (number|null)[], power: (number|null)[],
 *   latency: (number|null)[], rssMiB: (number|null)[] }} Series
 * @typedef {{ device: string, state: string, profile: string|null, lastSeen: number, lastTelemetryAt: number|null,
 *   status: any, telemetry: any, alarm: any, series: Series }} Device
 * @typedef {{ device: string, name: string|null, modelSet: string, width: number, height: number, psnr: number|null,
 *   meanSnrDb: number|null, complete: boolean, finishedAt: number, png?: string }} Image
 * @typedef {{ devices: Set<string>, alarms: boolean, images: boolean, jobs: boolean, all: boolean }} Dirty
 */

/** @returns {Series} */
function emptySeries() {
  return { t: [], snr: [], psnr: [], uses: [], power: [], latency: [], rssMiB: [] };
}

/** @param {any} v */
const orNull = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Appends one telemetry sample (cloud receive time, ms) to a series, oldest dropped past MAX_POINTS.
 * @param {Series} s
 * @param {number} receivedAt
 * @param {any} m  a TelemetryMessage
 */
export function pushSample(s, receivedAt, m) {
  s.t.push(receivedAt / 1000);
  s.snr.push(orNull(m.snrDb));
  s.psnr.push(orNull(m.quality?.psnr));
  s.uses.push(orNull(m.action?.ratePrefix));
  s.power.push(orNull(m.action?.power));
  s.latency.push(orNull(m.latencyMs?.total));
  s.rssMiB.push(typeof m.memoryRssBytes === 'number' ? m.memoryRssBytes / 2 ** 20 : null);
  const excess = s.t.length - MAX_POINTS;
  if (excess > 0) for (const key of /** @type {(keyof Series)[]} */ (Object.keys(s))) s[key].splice(0, excess);
}

export class FleetState {
  constructor() {
    /** @type {Map<string, Device>} */
    this.devices = new Map();
    /** @type {Map<string, any>} */
    this.jobs = new Map();
    /** @type {Image[]} newest first */
    this.images = [];
  }

  /** @returns {Dirty} */
  static clean() {
    return { devices: new Set(), alarms: false, images: false, jobs: false, all: false };
  }

  /**
   * @param {string} id
   * @param {number} at
   * @returns {Device}
   */
  touch(id, at) {
    let d = this.devices.get(id);
    if (d === undefined) {
      d = { device: id, state: 'unknown', profile: null, lastSeen: at, lastTelemetryAt: null, status: null, telemetry: null, alarm: null, series: emptySeries() };
    } else {
      this.devices.delete(id);
    }
    this.devices.set(id, d);
    d.lastSeen = Math.max(d.lastSeen, at);
    if (this.devices.size > MAX_DEVICES) {
      const oldest = this.devices.keys().next().value;
      if (oldest !== undefined) this.devices.delete(oldest);
    }
    return d;
  }

  /**
   * The snapshot replaces what the page knew of devices and jobs; a device's series survive a reconnect.
   * @param {any} snap
   * @param {Dirty} dirty
   */
  applySnapshot(snap, dirty) {
    const before = this.devices;
    this.devices = new Map();
    for (const v of snap.devices) {
      const old = before.get(v.device);
      const series = old?.series ?? emptySeries();
      if (series.t.length === 0 && v.telemetry && v.lastTelemetryAt !== null) pushSample(series, v.lastTelemetryAt, v.telemetry);
      this.devices.set(v.device, { ...v, series });
      if (v.image && v.image.png) this.addImage(v.image);
    }
    this.jobs = new Map(snap.jobs.map((/** @type {any} */ j) => [j.job, j]));
    dirty.all = true;
  }

  /**
   * @param {any} e  a WireEvent
   * @param {Dirty} dirty
   */
  applyEvent(e, dirty) {
    if (e.kind === 'job') {
      this.jobs.delete(e.job);
      if (e.message !== null) this.jobs.set(e.job, e.message);
      if (this.jobs.size > MAX_JOBS) this.jobs.delete(/** @type {string} */ (this.jobs.keys().next().value));
      dirty.jobs = true;
      return;
    }
    const d = this.touch(e.device, e.receivedAt);
    dirty.devices.add(e.device);
    if (e.kind === 'telemetry') {
      d.telemetry = e.message;
      d.lastTelemetryAt = e.receivedAt;
      pushSample(d.series, e.receivedAt, e.message);
    } else if (e.kind === 'status') {
      d.status = e.message;
      d.state = e.message.state;
      if (e.message.state === 'online') d.profile = e.message.profile;
    } else if (e.kind === 'alarm') {
      d.alarm = e.message;
      dirty.alarms = true;
    } else if (e.kind === 'image') {
      this.addImage(e.image);
      dirty.images = true;
    }
  }

  /**
   * The stored history of a device, oldest first; live samples newer than the last stored one are kept.
   * @param {string} id
   * @param {{ receivedAt: number, message: any }[]} rows
   */
  applyHistory(id, rows) {
    const d = this.devices.get(id);
    if (d === undefined || rows.length === 0) return;
    const series = emptySeries();
    for (const row of rows) pushSample(series, row.receivedAt, row.message);
    const last = series.t[series.t.length - 1] ?? -Infinity;
    const live = d.series;
    for (let i = 0; i < live.t.length; i++) {
      if ((live.t[i] ?? -Infinity) <= last) continue;
      for (const key of /** @type {(keyof Series)[]} */ (Object.keys(series))) series[key].push(/** @type {any} */ (live[key][i]));
    }
    const excess = series.t.length - MAX_POINTS;
    if (excess > 0) for (const key of /** @type {(keyof Series)[]} */ (Object.keys(series))) series[key].splice(0, excess);
    d.series = series;
  }

  /** @param {Image} image */
  addImage(image) {
    this.images = [image, ...this.images.filter((i) => !(i.device === image.device && i.finishedAt === image.finishedAt))]
      .sort((a, b) => b.finishedAt - a.finishedAt)
      .slice(0, MAX_IMAGES);
  }

  /** Every active alarm of the fleet, as {device, alarm}, newest first. */
  activeAlarms() {
    /** @type {{ device: string, alarm: any }[]} */
    const out = [];
    for (const d of this.devices.values()) for (const a of d.alarm?.active ?? []) out.push({ device: d.device, alarm: a });
    return out.sort((a, b) => b.alarm.since - a.alarm.since);
  }

  /** Devices sorted by id. */
  sorted() {
    return [...this.devices.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }
}
