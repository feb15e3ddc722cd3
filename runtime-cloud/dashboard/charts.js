// @ts-check
/**
 * The selected device's charts, drawn with uPlot (served from the uplot npm package, no CDN): SNR, PSNR,
 * the action (channel uses and power, two axes), the end-to-end latency and the runtime's memory, over
 * the cloud's receive time. Charts are made once and get new data with setData (uPlot redraws in a
 * microtask after it).
 */
import { byId, el } from './dom.js';

/** @typedef {import('./state.js').Series} Series */

/**
 * @typedef {{ id: string, title: string, series: { key: keyof Series, label: string, stroke: string, scale?: string }[],
 *   axes?: { scale: string, label: string, side: number }[] }} ChartSpec
 */

/** @type {ChartSpec[]} */
const SPECS = [
  { id: 'snr', title: 'SNR estimate (dB)', series: [{ key: 'snr', label: 'SNR dB', stroke: '#1f77b4' }] },
  { id: 'psnr', title: 'PSNR of the reconstruction (dB)', series: [{ key: 'psnr', label: 'PSNR dB', stroke: '#2ca02c' }] },
  {
    id: 'action',
    title: 'Action: channel uses and power',
    series: [
      { key: 'uses', label: 'channel uses', stroke: '#9467bd', scale: 'uses' },
      { key: 'power', label: 'power', stroke: '#ff7f0e', scale: 'power' },
    ],
    axes: [
      { scale: 'uses', label: 'uses', side: 3 },
      { scale: 'power', label: 'power', side: 1 },
    ],
  },
  { id: 'latency', title: 'Latency, end to end (ms)', series: [{ key: 'latency', label: 'total ms', stroke: '#d62728' }] },
  { id: 'memory', title: 'Memory, resident (MiB)', series: [{ key: 'rssMiB', label: 'RSS MiB', stroke: '#8c564b' }] },
];

const WIDTH = 440;
const HEIGHT = 170;

export class DeviceCharts {
  constructor() {
    this.box = byId('charts');
    this.title = byId('selected');
    /** @type {{ spec: ChartSpec, plot: any }[]} */
    this.charts = [];
    this.device = /** @type {string | null} */ (null);
    /** How many times the charts were given new data. */
    this.redraws = 0;
  }

  /** @returns {any} */
  static get uPlot() {
    const u = /** @type {any} */ (globalThis).uPlot;
    if (typeof u !== 'function') throw new Error('uPlot did not load (assets/uPlot.iife.min.js)');
    return u;
  }

  /** Makes the charts on first use. */
  ensure() {
    if (this.charts.length > 0) return;
    const UPlot = DeviceCharts.uPlot;
    for (const spec of SPECS) {
      const holder = el('figure', { className: 'chart' });
      holder.dataset.chart = spec.id;
      this.box.appendChild(holder);
      const opts = {
        title: spec.title,
        width: WIDTH,
        height: HEIGHT,
        scales: { x: { time: true } },
        legend: { show: true },
        series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, spanGaps: true, ...(s.scale ? { scale: s.scale } : {}) }))],
        axes: [{}, ...(spec.axes ?? [{ scale: 'y', label: '', side: 3 }]).map((a) => ({ scale: a.scale, label: a.label || undefined, side: a.side, size: 60 }))],
      };
      const plot = new UPlot(opts, this.dataOf(spec, null), holder);
      this.charts.push({ spec, plot });
    }
  }

  /**
   * @param {ChartSpec} spec
   * @param {Series | null} s
   */
  dataOf(spec, s) {
    return [s ? s.t : [], ...spec.series.map((x) => (s ? s[x.key] : []))];
  }

  /**
   * Shows a device (or none).
   * @param {string | null} id
   * @param {Series | null} series
   */
  show(id, series) {
    this.device = id;
    this.title.textContent = id ?? '(none selected)';
    this.ensure();
    this.update(series);
  }

  /** New data for the shown device; uPlot redraws in a microtask. @param {Series | null} series */
  update(series) {
    for (const { spec, plot } of this.charts) plot.setData(this.dataOf(spec, series));
    this.redraws++;
  }

  /** Points in the first chart, for tests. */
  points() {
    const first = this.charts[0];
    return first ? first.plot.data[0].length : 0;
  }
}
