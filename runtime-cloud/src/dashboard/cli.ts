/**
 * akb-cloud's dashboard options (`--http`, `--http-host`, `--http-allow-host`): checked with the other
 * arguments, then the dashboard started on the service's hub, its telemetry store and metrics registry.
 */
import { createLogger } from '@akb/protocol/log';
import type { CloudService } from '../control/service.js';
import { startDashboard, type Dashboard } from './server.js';

export interface DashboardArgs {
  readonly http?: number | undefined;
  readonly httpHost?: string | undefined;
  readonly httpAllowHost?: readonly string[] | undefined;
}

/** Throws (yargs turns it into one usage line) on a port or host that cannot be right. */
export function dashboardArgs(a: DashboardArgs): void {
  if (a.http !== undefined && !(Number.isInteger(a.http) && a.http >= 0 && a.http <= 65535)) throw new Error('--http must be a TCP port from 0 to 65535 (0: a free one)');
  if (a.httpHost !== undefined && !/^[A-Za-z0-9.:_-]{1,255}$/.test(a.httpHost)) throw new Error('--http-host must be an address or a host name');
  for (const h of a.httpAllowHost ?? []) {
    if (h !== '*' && !/^[A-Za-z0-9.-]{1,253}$/.test(h)) throw new Error(`--http-allow-host "${h.slice(0, 64)}" is not a host name (no port, no scheme)`);
  }
}

/** Starts the dashboard when `--http` was given; undefined otherwise. */
export async function startCloudDashboard(service: CloudService, a: DashboardArgs): Promise<Dashboard | undefined> {
  if (a.http === undefined) return undefined;
  const log = createLogger('dashboard');
  const telemetry = service.telemetry;
  return startDashboard({
    hub: service.hub,
    ...(telemetry ? { store: telemetry.store, metrics: telemetry.metrics } : {}),
    port: a.http,
    host: a.httpHost ?? '127.0.0.1',
    allowedHosts: a.httpAllowHost ?? [],
    onError: (err, context) => log.warn({ err, ...context }, 'dashboard request failed'),
  });
}
