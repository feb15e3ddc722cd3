/**
 * The dashboard's JSON API, read only:
 *
 *   GET /api/fleet                                  every device the hub holds (DeviceView), and the jobs
 *   GET /api/jobs                                   OTA jobs, most recently changed last
 *   GET /api/devices/{id}/telemetry?from&to&limit   stored samples of one device, oldest first
 *
 * The device id is checked with the protocol's rule (1-64 of A-Z a-z 0-9 . _ -); `from` and `to` are ms
 * since the epoch (from inclusive, to exclusive); `limit` is 1 to MAX_QUERY_ROWS (default 1000) and keeps
 * the newest rows of the range. Anything else is refused with 400 and what was wrong.
 */
import { DEVICE_ID_PATTERN } from '@akb/protocol';
import { MAX_QUERY_ROWS, type RangeQuery, type TelemetryStore } from '../telemetry/store.js';
import type { FleetHub } from '../telemetry/hub.js';
import { HttpError } from './http-util.js';
import { deviceViews, type ProfileBook } from './views.js';

/** Largest time a query may name: the largest a JavaScript Date holds, ms since the epoch. */
const MAX_TIME = 8.64e15;

export interface ApiContext {
  readonly hub: FleetHub;
  readonly profiles: ProfileBook;
  readonly store?: TelemetryStore;
}

/** The answer to a GET of `path` (as sent: not normalised) under /api/, or undefined when it is not an API route (404). */
export async function api(ctx: ApiContext, path: string, params: URLSearchParams): Promise<unknown> {
  if (path === '/api/fleet') return { ts: Date.now(), devices: deviceViews(ctx.hub, ctx.profiles), jobs: ctx.hub.listJobs() };
  if (path === '/api/jobs') return { ts: Date.now(), jobs: ctx.hub.listJobs() };
  const m = /^\/api\/devices\/([^/]+)\/telemetry$/.exec(path);
  if (m) return telemetry(ctx, deviceId(m[1]!), params);
  return undefined;
}

function deviceId(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'BAD_DEVICE_ID', 'the device id is not valid percent-encoding');
  }
  if (!DEVICE_ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new HttpError(400, 'BAD_DEVICE_ID', 'device id: 1-64 of A-Z a-z 0-9 . _ - (not "." or "..")');
  }
  return id;
}

async function telemetry(ctx: ApiContext, device: string, params: URLSearchParams): Promise<unknown> {
  for (const key of params.keys()) {
    if (key !== 'from' && key !== 'to' && key !== 'limit') throw new HttpError(400, 'BAD_QUERY', `unknown parameter "${key.slice(0, 32)}": from, to and limit only`);
  }
  const from = integer(params, 'from', 0, MAX_TIME);
  const to = integer(params, 'to', 0, MAX_TIME);
  const limit = integer(params, 'limit', 1, MAX_QUERY_ROWS);
  if (from !== undefined && to !== undefined && to < from) throw new HttpError(400, 'BAD_QUERY', '"to" is before "from"');
  if (ctx.store === undefined) throw new HttpError(404, 'NO_STORE', 'this akb-cloud keeps no telemetry (started without a store)');
  const q: RangeQuery = { device, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), limit: limit ?? 1000 };
  const rows = await ctx.store.telemetry(q);
  return { device, from: from ?? null, to: to ?? null, limit: q.limit, rows };
}

/** The parameter as an integer in [min, max], undefined when absent; 400 when repeated, not an integer or out of range. */
function integer(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const all = params.getAll(name);
  if (all.length === 0) return undefined;
  if (all.length > 1) throw new HttpError(400, 'BAD_QUERY', `"${name}" given ${all.length} times`);
  const text = all[0]!;
  if (!/^\d{1,16}$/.test(text)) throw new HttpError(400, 'BAD_QUERY', `"${name}" must be a non-negative integer`);
  const v = Number(text);
  if (v < min || v > max) throw new HttpError(400, 'BAD_QUERY', `"${name}" must be from ${min} to ${max}`);
  return v;
}
