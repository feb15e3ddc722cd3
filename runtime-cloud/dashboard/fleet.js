// @ts-check
/**
 * The fleet table (one row per device, kept and updated in place, sorted by id) and the list of active
 * alarms. Every value is set as text.
 */
import { ago, bytes, byId, clock, el, num, setText } from './dom.js';

/** A device whose telemetry stopped for this long while online is shown as silent (the cloud's alarm decides for real). */
export const SILENT_MS = 30000;

const COLUMNS = ['device', 'status', 'profile', 'seen', 'snr', 'psnr', 'action', 'latency', 'memory', 'alarms'];

/**
 * @typedef {import('./state.js').Device} Device
 * @typedef {import('./state.js').FleetState} FleetState
 */

export class FleetTable {
  /** @param {(id: string) => void} onSelect */
  constructor(onSelect) {
    this.body = /** @type {HTMLTableSectionElement} */ (byId('fleet').querySelector('tbody'));
    this.empty = byId('fleet-empty');
    /** @type {Map<string, HTMLTableRowElement>} */
    this.rows = new Map();
    this.selected = /** @type {string | null} */ (null);
    this.onSelect = onSelect;
  }

  /**
   * Redraws the rows of `ids` (all when null), adds and removes rows, keeps the order by id.
   * @param {FleetState} state
   * @param {Set<string> | null} ids
   * @param {number} now
   */
  render(state, ids, now) {
    let order = false;
    for (const [id, row] of this.rows) {
      if (!state.devices.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
    const todo = ids === null ? state.devices.keys() : ids;
    for (const id of todo) {
      const d = state.devices.get(id);
      if (d === undefined) continue;
      let row = this.rows.get(id);
      if (row === undefined) {
        row = this.makeRow(id);
        this.rows.set(id, row);
        order = true;
      }
      this.fill(row, d, now);
    }
    if (order) for (const d of state.sorted()) this.body.appendChild(/** @type {HTMLTableRowElement} */ (this.rows.get(d.device)));
    this.empty.hidden = this.rows.size > 0;
  }

  /** Refreshes the "last seen" cells and the silent marks (once a second). @param {FleetState} state @param {number} now */
  tick(state, now) {
    for (const [id, row] of this.rows) {
      const d = state.devices.get(id);
      if (d === undefined) continue;
      setText(/** @type {Element} */ (row.cells[3]), ago(d.lastSeen, now));
      row.classList.toggle('silent', isSilent(d, now));
    }
  }

  /** @param {string | null} id */
  select(id) {
    this.selected = id;
    for (const [rid, row] of this.rows) row.classList.toggle('selected', rid === id);
  }

  /** @param {string} id */
  makeRow(id) {
    const row = /** @type {HTMLTableRowElement} */ (el('tr'));
    row.dataset.device = id;
    for (const name of COLUMNS) row.appendChild(el('td', { className: `col-${name}` }));
    row.addEventListener('click', () => this.onSelect(id));
    row.classList.toggle('selected', id === this.selected);
    return row;
  }

  /**
   * @param {HTMLTableRowElement} row
   * @param {Device} d
   * @param {number} now
   */
  fill(row, d, now) {
    const t = d.telemetry;
    const cells = /** @type {[HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement]} */ (
      /** @type {unknown} */ ([...row.cells])
    );
    const alarms = d.alarm?.active ?? [];
    setText(cells[0], d.device);
    setText(cells[1], statusText(d));
    cells[1].dataset.state = d.state;
    setText(cells[2], d.profile ?? '—');
    setText(cells[3], ago(d.lastSeen, now));
    setText(cells[4], num(t?.snrDb));
    setText(cells[5], num(t?.quality?.psnr, 2));
    setText(cells[6], t?.action ? `${t.action.ratePrefix}, ${num(t.action.power, 2)}` : '—');
    setText(cells[7], num(t?.latencyMs?.total, 0));
    setText(cells[8], bytes(t?.memoryRssBytes));
    setText(cells[9], alarms.map((/** @type {any} */ a) => a.kind).join(', '));
    row.classList.toggle('alarm', alarms.length > 0);
    row.classList.toggle('silent', isSilent(d, now));
  }
}

/** @param {Device} d */
function statusText(d) {
  const s = d.status;
  if (s?.state === 'updating') return `updating (${s.phase})`;
  if (s?.state === 'offline') return s.reason === 'will' ? 'offline (lost)' : 'offline';
  return d.state;
}

/** @param {Device} d @param {number} now */
function isSilent(d, now) {
  return d.state === 'online' && now - (d.lastTelemetryAt ?? d.lastSeen) > SILENT_MS;
}

/** The active alarms, highlighted, newest first. */
export class AlarmList {
  constructor() {
    this.section = byId('alarms-section');
    this.list = byId('alarms');
  }

  /** @param {FleetState} state */
  render(state) {
    const alarms = state.activeAlarms();
    this.section.hidden = alarms.length === 0;
    const items = alarms.map(({ device, alarm }) => {
      const li = el('li', { className: `alarm kind-${String(alarm.kind).replace(/[^a-z-]/g, '')}` }, [
        el('strong', { className: 'alarm-device', text: device }),
        el('span', { className: 'alarm-kind', text: alarm.kind }),
        el('span', { className: 'alarm-message', text: alarm.message }),
        el('span', { className: 'alarm-since', text: `since ${clock(alarm.since)}` }),
      ]);
      li.dataset.device = device;
      return li;
    });
    this.list.replaceChildren(...items);
  }
}
