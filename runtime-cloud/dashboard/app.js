// @ts-check
/**
 * The dashboard page: one WebSocket to akb-cloud (`ws` beside the page, so it works behind a reverse proxy
 * under any path), a snapshot and then every fleet event; the model (state.js) changes at once, the
 * screen at most once per animation frame (table, alarms, images, jobs, the selected device's charts).
 *
 * The latency hook: `window.__akbDashboard.latencies` holds, for each telemetry event drawn, the
 * milliseconds from the hub's event (`at`, akb-cloud's clock) to the end of the animation frame that drew
 * it (its table row, and the charts when its device is the selected one); `latenciesFromReceipt` the same
 * from the cloud receiving the sample (`receivedAt`). Both are bounded to the newest MAX_LATENCIES values
 * and compare two clocks: meaningful when the browser and akb-cloud run on one machine or synchronised
 * clocks. The reconnect delay grows from 1 s to 10 s.
 */
import { DeviceCharts } from './charts.js';
import { byId, setText } from './dom.js';
import { AlarmList, FleetTable } from './fleet.js';
import { ImageStrip, JobTable } from './panels.js';
import { FleetState } from './state.js';

const MAX_LATENCIES = 10000;
const HISTORY_POINTS = 600;

const state = new FleetState();
let dirty = FleetState.clean();
/** @type {{ at: number, receivedAt: number }[]} telemetry events waiting to be drawn */
let pending = [];
let scheduled = false;
let retryMs = 1000;

const hook = {
  /** @type {number[]} */ latencies: [],
  /** @type {number[]} */ latenciesFromReceipt: [],
  messages: 0,
  snapshots: 0,
  frames: 0,
  /** Messages that were not JSON or not a dashboard message. */
  malformed: 0,
  connected: false,
  /** @type {string | null} */ selected: null,
  /** Points in the selected device's first chart. */
  chartPoints: () => charts.points(),
  chartRedraws: () => charts.redraws,
  devices: () => [...state.devices.keys()],
};
/** @type {any} */ (window).__akbDashboard = hook;

const fleet = new FleetTable((id) => {
  location.hash = `device=${encodeURIComponent(id)}`;
});
const alarms = new AlarmList();
const images = new ImageStrip();
const jobs = new JobTable();
const charts = new DeviceCharts();
const connection = byId('connection');

/** @param {number[]} list @param {number} v */
function record(list, v) {
  list.push(v);
  if (list.length > MAX_LATENCIES) list.splice(0, list.length - MAX_LATENCIES);
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}

function render() {
  scheduled = false;
  const now = Date.now();
  const d = dirty;
  const drawn = pending;
  dirty = FleetState.clean();
  pending = [];
  if (hook.selected === null && state.devices.size > 0) select(state.sorted()[0]?.device ?? null);
  fleet.render(state, d.all ? null : d.devices, now);
  if (d.all || d.alarms) alarms.render(state);
  if (d.all || d.images) images.render(state);
  if (d.all || d.jobs) jobs.render(state);
  const selected = hook.selected;
  if (selected !== null && (d.all || d.devices.has(selected))) charts.update(state.devices.get(selected)?.series ?? null);
  summary(now);
  hook.frames++;
  // uPlot draws in a microtask queued by setData; this one runs after it.
  queueMicrotask(() => {
    const done = Date.now();
    for (const p of drawn) {
      record(hook.latencies, done - p.at);
      record(hook.latenciesFromReceipt, done - p.receivedAt);
    }
  });
}

/** @param {number} now */
function summary(now) {
  let online = 0;
  for (const dev of state.devices.values()) if (dev.state === 'online') online++;
  const active = state.activeAlarms().length;
  const n = state.devices.size;
  setText(byId('summary'), `${n} device${n === 1 ? '' : 's'}, ${online} online, ${active} active alarm${active === 1 ? '' : 's'} · ${new Date(now).toLocaleTimeString()}`);
}

/** @param {string | null} id */
function select(id) {
  if (id !== null && !state.devices.has(id)) id = null;
  hook.selected = id;
  fleet.select(id);
  charts.show(id, id === null ? null : (state.devices.get(id)?.series ?? null));
  if (id !== null) void loadHistory(id);
}

/** The stored samples of a device, when akb-cloud keeps telemetry. @param {string} id */
async function loadHistory(id) {
  try {
    const res = await fetch(`api/devices/${encodeURIComponent(id)}/telemetry?limit=${HISTORY_POINTS}`);
    if (!res.ok) return;
    const body = await res.json();
    state.applyHistory(id, body.rows);
    if (hook.selected === id) charts.update(state.devices.get(id)?.series ?? null);
  } catch {
    // No history: the charts fill from live samples.
  }
}

function selectFromHash() {
  const m = /^#device=(.+)$/.exec(location.hash);
  if (m === null) return;
  try {
    select(decodeURIComponent(m[1] ?? ''));
  } catch {
    // A malformed hash selects nothing.
  }
}

/** @param {MessageEvent} m */
function onMessage(m) {
  let msg;
  try {
    msg = JSON.parse(String(m.data));
  } catch {
    hook.malformed++;
    return;
  }
  hook.messages++;
  if (msg?.type === 'snapshot' && Array.isArray(msg.devices) && Array.isArray(msg.jobs)) {
    hook.snapshots++;
    state.applySnapshot(msg, dirty);
    if (hook.selected === null) selectFromHash();
    else if (!state.devices.has(hook.selected)) select(null);
  } else if (msg?.type === 'event' && msg.event && typeof msg.event.kind === 'string') {
    state.applyEvent(msg.event, dirty);
    if (msg.event.kind === 'telemetry') {
      pending.push({ at: msg.at, receivedAt: msg.event.receivedAt });
      if (pending.length > MAX_LATENCIES) pending.splice(0, pending.length - MAX_LATENCIES);
    }
  } else {
    hook.malformed++;
    return;
  }
  schedule();
}

function connect() {
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  connection.dataset.state = 'connecting';
  setText(connection, 'connecting…');
  ws.addEventListener('open', () => {
    retryMs = 1000;
    hook.connected = true;
    connection.dataset.state = 'live';
    setText(connection, 'live');
  });
  ws.addEventListener('message', onMessage);
  ws.addEventListener('close', () => {
    hook.connected = false;
    connection.dataset.state = 'offline';
    setText(connection, `disconnected: retrying in ${Math.round(retryMs / 1000)} s`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(10000, retryMs * 2);
  });
}

window.addEventListener('hashchange', selectFromHash);
setInterval(() => fleet.tick(state, Date.now()), 1000);
connect();
