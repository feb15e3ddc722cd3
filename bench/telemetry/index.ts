/**
 * Telemetry at fleet scale (issue 12, "Measure"): 200 simulated devices (one MQTT connection each, in a
 * child process: fleet.ts) publish a telemetry sample a second at QoS 1 through a private Mosquitto for
 * AKB_BENCH_TELEMETRY_S seconds (default 300) into an akb-cloud process (`--db sqlite:… --http 0`, the
 * built runtime-cloud/dist/main.js), with its dashboard open in chromium. Measured from outside akb-cloud:
 *
 * - brokerLag: the baseline, in the same run: a plain subscriber (this process) timing each sample from
 *   its `ts` (taken right before publish) to its arrival. Everything else is put beside it as a ratio.
 * - receiveLag: publish → akb-cloud's ingest received it (`received_at - ts` of the stored row);
 * - storedLag: publish → the row readable in the SQLite file (seen by polling it every 100 ms from a
 *   read-only connection, so it is late by up to the poll period, 50 ms on average);
 * - each per minute (p50, p95): flat means the last minute's p95 is near the first's;
 * - storage: rows written per second (per minute and overall);
 * - akb-cloud's resident memory every 5 s (/proc/<pid>/status VmRSS; VmHWM the peak);
 * - dashboard: the page's own latency hook (H2's window.__akbDashboard): hub event → the animation frame
 *   that drew it, and cloud receipt → drawn, drained every 5 s.
 *
 *   AKB_BENCH_TELEMETRY_S=60 npx tsx bench/telemetry/index.ts    (or npm run bench -- telemetry)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { filters } from '../../protocol/src/topics.js';
import { connectMqtt } from '../../protocol/src/mqtt/index.js';
import { startMosquitto } from '../../test/support/mosquitto.js';
import { findProgram, missingMessage } from '../../test/support/programs.js';
import { startChild as start, stopChild as stop, type Child } from '../child.js';
import { LagSeries, StorePoller, drainDashboard, rssOf } from './probes.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const CLOUD_BIN = process.env.AKB_CLOUD_BIN ?? here('../../runtime-cloud/dist/main.js');

export interface TelemetryBenchOptions {
  devices?: number;
  seconds?: number;
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100);

const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Math.round((a - b) * 10) / 10);

export async function runTelemetryBench(options: TelemetryBenchOptions = {}): Promise<object> {
  const devices = options.devices ?? 200;
  const seconds = options.seconds ?? Number(process.env.AKB_BENCH_TELEMETRY_S ?? 300);
  if (findProgram('mosquitto') === undefined) return { skipped: missingMessage('mosquitto', 'mosquitto') };
  if (!existsSync(CLOUD_BIN)) return { skipped: `${CLOUD_BIN} is missing: run npx tsc -b first` };

  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-telemetry-'));
  const broker = await startMosquitto();
  const dbPath = join(dir, 'telemetry.sqlite');
  let cloud: Child | undefined;
  let fleet: Child | undefined;
  let browser: import('playwright-core').Browser | undefined;
  const subscriber = await connectMqtt({ url: broker.url, clientId: 'bench-baseline' });
  try {
    cloud = start(process.execPath, [CLOUD_BIN, '--broker', broker.url, '--db', `sqlite:${dbPath}`, '--http', '0'], { ...process.env, AKB_LOG_LEVEL: 'info' });
    const url = (await cloud.wait(/https?:\/\/127\.0\.0\.1:\d+\/?/, 60_000, 'akb-cloud printing its dashboard URL'))[0];
    const dashboard = await openDashboard(url);
    browser = dashboard?.browser;

    const t0 = Date.now();
    const series = { broker: new LagSeries(t0), receive: new LagSeries(t0), stored: new LagSeries(t0), fromEvent: new LagSeries(t0), fromReceipt: new LagSeries(t0) };
    subscriber.onMessage(filters.allTelemetry, (m) => {
      const ts = /"ts":(\d+)/.exec(m.payload.toString('latin1'))?.[1];
      if (ts !== undefined) series.broker.add(Date.now() - Number(ts));
    });
    await subscriber.subscribe(filters.allTelemetry, { qos: 1 });

    fleet = start(process.execPath, ['--import', 'tsx', here('./fleet.ts'), '--broker', broker.url, '--devices', String(devices), '--seconds', String(seconds)]);
    await fleet.wait(/"ready":true/, 120_000, 'the simulated fleet connecting');
    const fleetStart = Date.now();
    for (const x of Object.values(series)) x.start = fleetStart;
    const store = new StorePoller(dbPath);
    const rowsPerMinute: number[] = [];
    const rss: { t: number; rssMiB: number; peakMiB: number }[] = [];
    let lastSlow = 0;
    const pid = cloud.child.pid!;
    while (fleet.child.exitCode === null) {
      const { rows, seenAt } = await store.poll();
      for (const r of rows) {
        series.receive.add(r.received_at - r.ts, r.received_at);
        series.stored.add(seenAt - r.ts, seenAt);
        const m = Math.floor(Math.max(0, seenAt - fleetStart) / 60_000);
        while (rowsPerMinute.length <= m) rowsPerMinute.push(0);
        rowsPerMinute[m]! += 1;
      }
      if (Date.now() - lastSlow >= 5000) {
        lastSlow = Date.now();
        const r = rssOf(pid);
        if (r) rss.push({ t: Math.round((lastSlow - t0) / 1000), ...r });
        if (dashboard) {
          const d = await drainDashboard(dashboard.page);
          for (const v of d.fromEvent) series.fromEvent.add(v);
          for (const v of d.fromReceipt) series.fromReceipt.add(v);
        }
      }
      if (cloud.child.exitCode !== null) throw new Error(`akb-cloud exited (${cloud.child.exitCode}) during the run:\n${cloud.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const fleetSeconds = (Date.now() - fleetStart) / 1000;
    // Let the last batches land.
    await new Promise((r) => setTimeout(r, 3000));
    const { rows, seenAt } = await store.poll();
    for (const r of rows) {
      series.receive.add(r.received_at - r.ts, r.received_at);
      series.stored.add(seenAt - r.ts, seenAt);
    }
    if (dashboard) {
      const d = await drainDashboard(dashboard.page);
      for (const v of d.fromEvent) series.fromEvent.add(v);
      for (const v of d.fromReceipt) series.fromReceipt.add(v);
    }
    store.close();
    const fleetSummary = JSON.parse(/\{"published".*\}/.exec(fleet.output())?.[0] ?? '{}') as { published?: number; failed?: number };
    const s = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v.summary()])) as Record<keyof typeof series, ReturnType<LagSeries['summary']>>;
    const flat = (x: ReturnType<LagSeries['summary']>): number | null => {
      // Whole minutes of publishing only: the last bucket holds the rest of the run and the drain.
      const full = x.perMinute.filter((m) => m.n > 0 && m.minute < Math.floor(fleetSeconds / 60));
      return full.length < 2 ? null : ratio(full.at(-1)!.p95, full[0]!.p95);
    };
    return {
      devices,
      publishers: `${devices} MQTT connections (one per device, birth and last will) in one child process, 1 sample/s each at QoS 1`,
      seconds: Math.round(fleetSeconds),
      published: fleetSummary.published ?? null,
      publishFailures: fleetSummary.failed ?? null,
      brokerLagMs: s.broker,
      receiveLagMs: s.receive,
      storedLagMs: { ...s.stored, note: 'seen by polling the SQLite file every 100 ms: late by up to 100 ms' },
      // The last whole minute's p95 over the first's: near 1 when the lag stays flat.
      lastOverFirstMinuteP95: { broker: flat(s.broker), receive: flat(s.receive), stored: flat(s.stored) },
      ratios: {
        receiveP95OverBrokerP95: ratio(s.receive.p95, s.broker.p95),
        storedP95OverBrokerP95: ratio(s.stored.p95, s.broker.p95),
        dashboardFromReceiptP95OverBrokerP95: ratio(s.fromReceipt.p95, s.broker.p95),
      },
      // The lags are whole milliseconds (a sample's ts is Date.now()): beside a broker p95 of a few ms the
      // ratios are coarse, so the differences are given too.
      overBrokerP95Ms: {
        receive: diff(s.receive.p95, s.broker.p95),
        stored: diff(s.stored.p95, s.broker.p95),
        dashboardFromReceipt: diff(s.fromReceipt.p95, s.broker.p95),
      },
      storage: {
        rows: store.rows,
        rowsPerSecond: Math.round((store.rows / fleetSeconds) * 10) / 10,
        // Whole minutes of publishing only (the rest of the run and the drain are in the totals).
        rowsPerSecondByMinute: rowsPerMinute.slice(0, Math.floor(fleetSeconds / 60)).map((n) => Math.round((n / 60) * 10) / 10),
        ofPublished: fleetSummary.published ? Math.round((store.rows / fleetSummary.published) * 1000) / 1000 : null,
      },
      cloudMemory: {
        startMiB: rss[0]?.rssMiB ?? null,
        endMiB: rss.at(-1)?.rssMiB ?? null,
        peakMiB: rss.at(-1)?.peakMiB ?? null,
        samples: rss,
      },
      dashboard: dashboard
        ? { fromHubEventMs: s.fromEvent, fromCloudReceiptMs: s.fromReceipt }
        : { skipped: missingMessage('chromium', 'chromium') },
    };
  } finally {
    await stop(fleet);
    await browser?.close();
    await subscriber.close();
    const code = await stop(cloud);
    if (code !== null && code !== 0 && cloud) process.stderr.write(`bench telemetry: akb-cloud exited ${code}:\n${cloud.output().slice(-2000)}\n`);
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function openDashboard(url: string): Promise<{ browser: import('playwright-core').Browser; page: import('playwright-core').Page } | undefined> {
  if (findProgram('chromium') === undefined && !existsSync('/usr/bin/chromium')) return undefined;
  const { launchChromium } = await import('../../test/support/browser.js');
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as { __akbDashboard?: { connected: boolean } }).__akbDashboard?.connected === true, undefined, { timeout: 30_000 });
  return { browser, page };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runTelemetryBench(), null, 2)}\n`);
}
