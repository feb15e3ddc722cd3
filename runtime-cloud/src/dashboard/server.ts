/**
 * The web dashboard akb-cloud serves with `--http <port>`: a node:http server on 127.0.0.1 by default.
 *
 *   GET /                 the page (runtime-cloud/dashboard/index.html)
 *   GET /assets/{name}    the page's scripts and styles and uPlot's, from a fixed allow-list (assets.ts)
 *   GET /metrics          Prometheus text from the metrics registry (404 when the cloud keeps no telemetry)
 *   GET /api/...          JSON (api.ts): the fleet, the jobs, a device's stored telemetry
 *   GET /ws               WebSocket upgrade (live.ts): a snapshot, then every FleetHub event
 *
 * Other methods are answered 405, other paths 404. Every request's Host header must name the server by an
 * IP address, `localhost`, the bound host or a name in `allowedHosts` (403 otherwise), so a page on
 * another site that rebinds its DNS name to 127.0.0.1 cannot read the fleet. There is no authentication:
 * README "Dashboard" says how to put it behind a reverse proxy that has some.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { AkbError } from '@akb/protocol';
import type { FleetHub } from '../telemetry/hub.js';
import type { TelemetryStore } from '../telemetry/store.js';
import { api } from './api.js';
import { loadAssets, type Assets } from './assets.js';
import { HttpError, hostAllowed, send, sendError, sendJson } from './http-util.js';
import { LiveFeed, refuse, type LiveOptions, type LiveStats } from './live.js';
import { ProfileBook } from './views.js';

/** What `/metrics` serves: a prom-client Registry, or anything with the same two members. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface DashboardOptions extends LiveOptions {
  readonly hub: FleetHub;
  readonly store?: TelemetryStore;
  readonly metrics?: MetricsSource;
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Address to bind (default 127.0.0.1; 0.0.0.0 or :: for every interface). */
  readonly host?: string;
  /** Host names accepted in the Host header besides IP addresses, localhost and `host` ('*': any). */
  readonly allowedHosts?: readonly string[];
  /** Told of failures the dashboard answered with 500 (a store that failed, a metrics source that threw). */
  readonly onError?: (error: unknown, context: { path: string }) => void;
}

export interface DashboardStats {
  requests: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  refusedHost: number;
  live: LiveStats;
}

export interface Dashboard {
  /** http://host:port/ as a browser on this machine reaches it (a wildcard bind is shown as 127.0.0.1). */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  stats(): DashboardStats;
  /** Closes the WebSocket clients and the server. */
  close(): Promise<void>;
}

/** Longest request target the server reads (longer: 414). */
const MAX_URL = 4096;

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const assets = await loadAssets();
  const host = options.host ?? '127.0.0.1';
  const profiles = new ProfileBook(options.hub);
  const unnote = options.hub.events.on((e) => profiles.note(e));
  const live = new LiveFeed(options.hub, profiles, options);
  const counters = { requests: 0, statuses: {} as Record<string, number>, refusedHost: 0 };
  const allowedHosts = options.allowedHosts ?? [];
  const count = (status: number): void => {
    counters.statuses[status] = (counters.statuses[status] ?? 0) + 1;
  };

  const server = createServer((req, res) => {
    counters.requests++;
    res.on('finish', () => count(res.statusCode));
    if (!hostAllowed(req, host, allowedHosts)) {
      counters.refusedHost++;
      return sendError(res, 403, 'HOST_NOT_ALLOWED', 'this Host header is not allowed (akb-cloud --http-allow-host)');
    }
    handle(req, res, { ...options, assets, profiles }).catch((e: unknown) => {
      if (e instanceof HttpError) return sendError(res, e.status, e.code, e.message);
      options.onError?.(e, { path: (req.url ?? '').slice(0, 200) });
      if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'the dashboard failed to answer (see akb-cloud\'s log)');
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (!hostAllowed(req, host, allowedHosts)) {
      counters.refusedHost++;
      return refuse(socket, 403, 'this Host header is not allowed');
    }
    if (pathOf(req) !== '/ws') return refuse(socket, 404, 'WebSocket only at /ws');
    live.upgrade(req, socket, head);
  });
  // Slow or idle clients do not keep sockets for ever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}/`,
    port,
    host,
    stats: () => ({ ...counters, statuses: { ...counters.statuses }, live: { ...live.stats, refused: { ...live.stats.refused } } }),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        unnote();
        live.close();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      })),
  };
}

interface HandleContext extends DashboardOptions {
  readonly assets: Assets;
  readonly profiles: ProfileBook;
}

function pathOf(req: IncomingMessage): string {
  const target = req.url ?? '/';
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: HandleContext): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'the dashboard is read only: GET and HEAD', { allow: 'GET, HEAD' });
  }
  const target = req.url ?? '/';
  if (target.length > MAX_URL) return sendError(res, 414, 'URI_TOO_LONG', `request target longer than ${MAX_URL} characters`);
  // Routes match the path as sent: no dot segment is resolved, so `/assets/../x` is the asset "../x" (none).
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  if (!path.startsWith('/')) return sendError(res, 400, 'BAD_URL', 'the request target must be a path');
  const params = new URLSearchParams(query < 0 ? '' : target.slice(query + 1));
  if (path === '/' || path === '/index.html') {
    return send(res, 200, ctx.assets.index.contentType, ctx.assets.index.body, { 'cache-control': 'no-cache' });
  }
  if (path.startsWith('/assets/')) {
    const asset = ctx.assets.get(path.slice('/assets/'.length));
    if (asset === undefined) return sendError(res, 404, 'NOT_FOUND', 'no such asset');
    return send(res, 200, asset.contentType, asset.body, { 'cache-control': 'no-cache' });
  }
  if (path === '/metrics') {
    if (ctx.metrics === undefined) return sendError(res, 404, 'NO_METRICS', 'this akb-cloud keeps no telemetry, so it has no metrics');
    return send(res, 200, ctx.metrics.contentType, await ctx.metrics.metrics(), { 'cache-control': 'no-store' });
  }
  if (path === '/ws') return sendError(res, 426, 'UPGRADE_REQUIRED', '/ws is a WebSocket', { upgrade: 'websocket' });
  if (path.startsWith('/api/')) {
    const body = await api(ctx, path, params);
    if (body !== undefined) return sendJson(res, 200, body);
  }
  return sendError(res, 404, 'NOT_FOUND', `no route ${path.slice(0, 100)}`);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void =>
      reject(new AkbError('HTTP_LISTEN', `the dashboard cannot listen on ${host}:${port}: ${e.message}`, { hint: 'choose another --http port (0 picks a free one) or --http-host', cause: e }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
