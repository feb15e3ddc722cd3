// @ts-check
/** The latest reconstructions (thumbnails, newest first) and the OTA deployment jobs. */
import { byId, clock, el, num, setText } from './dom.js';

/** @typedef {import('./state.js').FleetState} FleetState */

export class ImageStrip {
  constructor() {
    this.box = byId('images');
    this.empty = byId('images-empty');
  }

  /** @param {FleetState} state */
  render(state) {
    const figures = state.images.map((image) => {
      const img = /** @type {HTMLImageElement} */ (el('img'));
      img.alt = `reconstruction from ${image.device}`;
      // Only a base64 string ever becomes part of a data: URL; anything else leaves the image empty.
      if (typeof image.png === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(image.png)) img.src = `data:image/png;base64,${image.png}`;
      const caption = el('figcaption', {}, [
        el('strong', { text: image.device }),
        el('span', { className: 'image-name', text: image.name ?? '' }),
        el('span', { text: `${image.width}×${image.height}, PSNR ${num(image.psnr, 2)} dB, SNR ${num(image.meanSnrDb)} dB${image.complete ? '' : ', incomplete'}` }),
        el('span', { className: 'image-time', text: clock(image.finishedAt) }),
      ]);
      const figure = el('figure', { className: 'thumb' }, [img, caption]);
      figure.dataset.device = image.device;
      return figure;
    });
    this.box.replaceChildren(...figures);
    this.empty.hidden = figures.length > 0;
  }
}

export class JobTable {
  constructor() {
    this.body = /** @type {HTMLTableSectionElement} */ (byId('jobs').querySelector('tbody'));
    this.empty = byId('jobs-empty');
  }

  /** @param {FleetState} state */
  render(state) {
    const rows = [...state.jobs.values()].reverse().map((job) => {
      const devices = /** @type {any[]} */ (job.devices ?? []);
      const ok = devices.filter((d) => d.phase === 'ok').length;
      const failed = devices.filter((d) => d.phase === 'failed').length;
      const row = el('tr', { className: `job job-${String(job.state).replace(/[^a-z]/g, '')}` }, [
        el('td', { text: job.job }),
        el('td', { text: job.state }),
        el('td', { text: `${job.bundle?.name ?? '?'} ${job.bundle?.version ?? ''}` }),
        el('td', { text: `${Math.min(job.wave + 1, job.waves)} / ${job.waves}` }),
        el('td', { text: `${ok} / ${failed} / ${devices.length}` }),
        el('td', { text: clock(job.ts) }),
        el('td', { text: job.message ?? '' }),
      ]);
      row.dataset.job = job.job;
      return row;
    });
    this.body.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
    setText(this.empty, 'No deployment job.');
  }
}
