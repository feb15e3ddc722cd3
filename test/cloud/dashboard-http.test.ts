/**
 * The dashboard's HTTP side, on a real server on a free port: the page and its allow-listed assets, the
 * API with hostile ids and queries, /metrics, the Host check, and 404/405 for everything else. What is
 * thrown at it is named in each test.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetHub } from '../../runtime-cloud/src/telemetry/hub.js';
import { MemoryTelemetryStore } from '../../runtime-cloud/src/telemetry/memory-store.js';
import { MAX_QUERY_ROWS } from '../../runtime-cloud/src/telemetry/store.js';
import { startDashboard, type Dashboard } from '../../runtime-cloud/src/dashboard/index.js';
import { T0, alarm, feedDevice, job, telemetry, updating } from './dashboard-fixtures.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent exactly as given (no normalisation of `..`), and any Host header. */
function get(port: number, path: string, options: { method?: string; host?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Exact bytes to the server; resolves with the status line of the answer. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.includes('\r\n')) {
        socket.destroy();
        resolve(got.slice(0, got.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
  });
}

const json = (a: Answer): unknown => JSON.parse(a.body) as unknown;

describe('dashboard HTTP', () => {
  let hub: FleetHub;
  let store: MemoryTelemetryStore;
  let dash: Dashboard;
  let bare: Dashboard;
  const metrics = { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: () => Promise.resolve('# HELP akb_test a test\nakb_test 1\n') };

  beforeAll(async () => {
    hub = new FleetHub();
    store = new MemoryTelemetryStore();
    await store.writeTelemetry(Array.from({ length: 30 }, (_, i) => ({ device: 'cam-01', ts: T0 + i * 1000, receivedAt: T0 + i * 1000, message: telemetry('cam-01', i) })));
    dash = await startDashboard({ hub, store, metrics, port: 0 });
    bare = await startDashboard({ hub: new FleetHub(), port: 0 });
  });
  afterAll(async () => {
    await dash?.close();
    await bare?.close();
    await store?.close();
  });

  it('serves the page and its assets with a strict content security policy', async () => {
    expect(dash.url).toBe(`http://127.0.0.1:${dash.port}/`);
    const page = await get(dash.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('assets/app.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    for (const name of ['app.js', 'state.js', 'fleet.js', 'charts.js', 'panels.js', 'dom.js', 'style.css', 'uPlot.iife.min.js', 'uPlot.min.css']) {
      const a = await get(dash.port, `/assets/${name}`);
      expect(a.status, name).toBe(200);
      expect(a.body.length, name).toBeGreaterThan(100);
    }
    expect((await get(dash.port, '/assets/uPlot.iife.min.js')).headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get(dash.port, '/', { method: 'HEAD' })).status).toBe(200);
  });

  it('ships the page with the package (its files list names dashboard/)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../runtime-cloud/package.json', import.meta.url), 'utf8')) as { files: string[]; dependencies: Record<string, string> };
    expect(pkg.files).toContain('dashboard');
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['uplot', 'ws']));
  });

  it('answers 404 for unknown routes and assets', async () => {
    // Thrown at it: paths that are not routes, an asset not on the list, an API path that is not one.
    for (const path of ['/nope', '/assets/', '/assets/nope.js', '/assets/index.html', '/api/nope', '/api/devices/cam-01', '/api/devices/cam-01/status', '/metricsx']) {
      const a = await get(dash.port, path);
      expect(a.status, path).toBe(404);
      expect((json(a) as { error: { code: string } }).error.code).toMatch(/NOT_FOUND/);
    }
  });

  it('refuses path traversal: nothing outside the allow-list is read', async () => {
    // Thrown at it: dot segments raw and percent-encoded, encoded slashes, an absolute path, a NUL byte.
    const paths = [
      '/assets/../package.json',
      '/assets/../../package.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/assets//etc/passwd',
      '/../../../etc/passwd',
      '/assets/app.js%00.png',
      '/assets/..\\..\\package.json',
    ];
    for (const path of paths) {
      const a = await get(dash.port, path);
      expect(a.status, path).toBe(404);
      expect(a.body, path).not.toContain('"workspaces"');
      expect(a.body, path).not.toContain('root:');
    }
  });

  it('answers 405 to anything but GET and HEAD, and 426 to a plain GET of /ws', async () => {
    // Thrown at it: POST, PUT and DELETE on the page and the API.
    for (const [method, path] of [['POST', '/'], ['PUT', '/api/fleet'], ['DELETE', '/api/jobs']] as const) {
      const a = await get(dash.port, path, { method });
      expect(a.status, `${method} ${path}`).toBe(405);
      expect(a.headers.allow).toBe('GET, HEAD');
    }
    expect((await get(dash.port, '/ws')).status).toBe(426);
  });

  it('lists the fleet with status, profile, latest telemetry and alarms, and the jobs', async () => {
    feedDevice(hub, 'cam-01', 3, 'jetson-orin-nano');
    hub.publish({ kind: 'alarm', device: 'cam-01', receivedAt: Date.now(), message: alarm('cam-01', T0, 'PSNR 17.2 dB below 20 dB') });
    // An install after the birth: the device is updating, its profile is the birth's.
    feedDevice(hub, 'cam-02', 1);
    hub.publish({ kind: 'status', device: 'cam-02', receivedAt: Date.now(), message: updating('cam-02') });
    hub.publish({ kind: 'job', job: 'roll-1', receivedAt: Date.now(), message: job('roll-1') });
    const fleet = json(await get(dash.port, '/api/fleet')) as { devices: { device: string; state: string; profile: string; telemetry: { seq: number }; alarm: { active: unknown[] } | null }[]; jobs: { job: string }[] };
    expect(fleet.devices.map((d) => [d.device, d.state, d.profile])).toEqual([
      ['cam-01', 'online', 'jetson-orin-nano'],
      ['cam-02', 'updating', 'rpi-5'],
    ]);
    expect(fleet.devices[0]!.telemetry.seq).toBe(2);
    expect(fleet.devices[0]!.alarm!.active).toHaveLength(1);
    expect(fleet.jobs.map((j) => j.job)).toEqual(['roll-1']);
    expect((json(await get(dash.port, '/api/jobs')) as { jobs: unknown[] }).jobs).toHaveLength(1);
  });

  it('serves stored telemetry, newest `limit` rows of the range, oldest first', async () => {
    const all = json(await get(dash.port, '/api/devices/cam-01/telemetry')) as { rows: { receivedAt: number }[]; limit: number };
    expect(all.rows).toHaveLength(30);
    expect(all.limit).toBe(1000);
    const five = json(await get(dash.port, '/api/devices/cam-01/telemetry?limit=5')) as { rows: { receivedAt: number; message: { seq: number } }[] };
    expect(five.rows.map((r) => r.message.seq)).toEqual([25, 26, 27, 28, 29]);
    const range = json(await get(dash.port, `/api/devices/cam-01/telemetry?from=${T0 + 10_000}&to=${T0 + 13_000}`)) as { rows: { message: { seq: number } }[] };
    expect(range.rows.map((r) => r.message.seq)).toEqual([10, 11, 12]);
    expect((await get(dash.port, `/api/devices/cam-01/telemetry?limit=${MAX_QUERY_ROWS}`)).status).toBe(200);
    expect((json(await get(dash.port, '/api/devices/nobody/telemetry')) as { rows: unknown[] }).rows).toEqual([]);
  });

  it('refuses bad device ids with 400', async () => {
    // Thrown at it: a space, a slash encoded, dot segments, 65 characters, markup, broken percent-encoding, a NUL.
    for (const id of ['bad%20id', 'a%2Fb', '%2e%2e', '.', 'x'.repeat(65), '%3Cscript%3E', '%E0%A4%A', 'cam%00']) {
      const a = await get(dash.port, `/api/devices/${id}/telemetry`);
      expect(a.status, id).toBe(400);
      expect((json(a) as { error: { code: string } }).error.code, id).toBe('BAD_DEVICE_ID');
    }
  });

  it('bounds and checks the query: limit 1..MAX_QUERY_ROWS, integer times, known parameters only', async () => {
    // Thrown at it: limits 0, one over the maximum, negative, fractional, huge, not a number; times that are
    // not integers or out of range; "to" before "from"; a repeated and an unknown parameter.
    const bad = [
      'limit=0',
      `limit=${MAX_QUERY_ROWS + 1}`,
      'limit=-1',
      'limit=1.5',
      'limit=99999999999999999999',
      'limit=abc',
      'from=yesterday',
      'to=1e3',
      `from=${T0}&to=${T0 - 1}`,
      'from=9999999999999999',
      'limit=1&limit=2',
      'device=other',
    ];
    for (const q of bad) {
      const a = await get(dash.port, `/api/devices/cam-01/telemetry?${q}`);
      expect(a.status, q).toBe(400);
      expect((json(a) as { error: { code: string; message: string } }).error.code, q).toBe('BAD_QUERY');
    }
  });

  it('serves /metrics from the registry, 404 without one; telemetry without a store is 404', async () => {
    const m = await get(dash.port, '/metrics');
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toBe(metrics.contentType);
    expect(m.body).toContain('akb_test 1');
    expect((await get(bare.port, '/metrics')).status).toBe(404);
    const t = await get(bare.port, '/api/devices/cam-01/telemetry');
    expect(t.status).toBe(404);
    expect((json(t) as { error: { code: string } }).error.code).toBe('NO_STORE');
  });

  it('refuses a Host header that a DNS-rebinding page could send, accepts IPs and localhost', async () => {
    // Thrown at it: another site's name, a Host with credentials, a Host with a path, an empty Host, none (HTTP/1.0).
    for (const host of ['evil.example', 'evil.example:80', 'user:pw@127.0.0.1', '127.0.0.1/x']) {
      const a = await get(dash.port, '/api/fleet', { host });
      expect(a.status, host).toBe(403);
    }
    expect(await raw(dash.port, 'GET /api/fleet HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 (400|403) /);
    expect(await raw(dash.port, 'GET /api/fleet HTTP/1.0\r\n\r\n')).toBe('HTTP/1.1 403 Forbidden');
    for (const host of [`localhost:${dash.port}`, `127.0.0.1:${dash.port}`, `[::1]:${dash.port}`, 'app.localhost']) {
      expect((await get(dash.port, '/api/fleet', { host })).status, host).toBe(200);
    }
    expect(dash.stats().refusedHost).toBeGreaterThanOrEqual(5);
  });

  it('accepts a named host given in allowedHosts (behind a proxy)', async () => {
    const proxied = await startDashboard({ hub, port: 0, allowedHosts: ['dash.example.org'] });
    try {
      expect((await get(proxied.port, '/api/jobs', { host: 'dash.example.org' })).status).toBe(200);
      expect((await get(proxied.port, '/api/jobs', { host: 'other.example.org' })).status).toBe(403);
    } finally {
      await proxied.close();
    }
  });

  it('answers 500 and tells onError when the store fails, and keeps serving', async () => {
    // Thrown at it: a store that was closed under the dashboard.
    const closed = new MemoryTelemetryStore();
    await closed.close();
    const failures: string[] = [];
    const broken = await startDashboard({ hub, store: closed, port: 0, onError: (_e, ctx) => failures.push(ctx.path) });
    try {
      const a = await get(broken.port, '/api/devices/cam-01/telemetry?limit=3');
      expect(a.status).toBe(500);
      expect((json(a) as { error: { code: string } }).error.code).toBe('INTERNAL');
      expect(failures).toEqual(['/api/devices/cam-01/telemetry?limit=3']);
      expect((await get(broken.port, '/api/fleet')).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('says which port is taken when it cannot listen', async () => {
    // Thrown at it: the port the first dashboard holds.
    await expect(startDashboard({ hub, port: dash.port })).rejects.toThrow(new RegExp(`cannot listen on 127.0.0.1:${dash.port}`));
  });
});
