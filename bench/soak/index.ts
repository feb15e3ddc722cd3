/**
 * Soak (issue 14, not in CI): `devices` simulated edges (fleet.ts, one MQTT connection each, in a child
 * process) through a private Mosquitto with persistence for `seconds`, telemetry at 1 Hz and one CIFAR-10
 * image (meta + one real AKB-JSCC frame) every `imageEvery` s each, all QoS 1, into an akb-cloud process
 * that decodes every frame (akb-k256), stores the telemetry in SQLite and answers with feedback. The
 * broker is stopped (`signal`, SIGKILL by default) and started again `restarts` times, evenly spread.
 *
 * Loss is counted three ways, each against what the broker acknowledged to the publishing device:
 * - `auditor`: a subscriber in this process with a persistent session (clean session off), QoS 1;
 * - `cloud`: telemetry rows in akb-cloud's SQLite store (distinct device and seq), and frames decoded (its
 *   line per finished image); akb-cloud runs with `--persistent-session`. The feedback each device got is
 *   reported beside them: it travels at QoS 0, so what the broker's restarts drop is not QoS 1 loss.
 * Memory (VmRSS) and open descriptors of the broker, akb-cloud, the fleet and this process every 5 s;
 * "flat" compares the last minute's mean with the first minute's after a 60 s warm-up. Reconnect time:
 * from the broker accepting connections again to each device's reconnect (p50, p99, max).
 *
 *   npx tsx bench/soak/index.ts                      200 devices, 600 s, 2 restarts by SIGKILL
 *   AKB_SOAK_S=120 AKB_SOAK_DEVICES=50 AKB_SOAK_SIGNAL=SIGTERM npx tsx bench/soak/index.ts
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { filters } from '../../protocol/src/topics.js';
import { connectMqtt } from '../../protocol/src/mqtt/index.js';
import { startMosquitto } from '../../test/support/mosquitto.js';
import { findProgram, missingMessage } from '../../test/support/programs.js';
import { startChild, stopChild, type Child } from '../child.js';
import { percentile } from '../telemetry/probes.js';
import { ProcessSeries, UniqueTally } from './probes.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const CLOUD_BIN = process.env.AKB_CLOUD_BIN ?? here('../../runtime-cloud/dist/main.js');

export interface SoakOptions {
  devices?: number;
  seconds?: number;
  restarts?: number;
  imageEvery?: number;
  signal?: 'SIGTERM' | 'SIGKILL';
  /** How long the broker stays down at each restart (default 2000 ms). */
  downMs?: number;
}

interface DeviceSummary {
  device: string;
  telemetrySent: number;
  telemetryAcked: number;
  framesSent: number;
  framesAcked: number;
  feedback: number;
  failures: number;
}

export async function runSoak(o: SoakOptions = {}): Promise<object> {
  const devices = o.devices ?? Number(process.env.AKB_SOAK_DEVICES ?? 200);
  const seconds = o.seconds ?? Number(process.env.AKB_SOAK_S ?? 600);
  const restarts = o.restarts ?? Number(process.env.AKB_SOAK_RESTARTS ?? 2);
  const imageEvery = o.imageEvery ?? 5;
  const signal = o.signal ?? (process.env.AKB_SOAK_SIGNAL === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL');
  const downMs = o.downMs ?? 2000;
  if (findProgram('mosquitto') === undefined) return { bench: 'soak', skipped: missingMessage('mosquitto', 'mosquitto') };
  if (!existsSync(CLOUD_BIN)) return { bench: 'soak', skipped: `${CLOUD_BIN} is missing: run npx tsc -b first` };

  const dir = await mkdtemp(join(tmpdir(), 'akb-soak-'));
  const db = join(dir, 'telemetry.sqlite');
  const broker = await startMosquitto({ persistence: true, extraConfig: 'max_queued_messages 0' });
  const capacity = seconds + 120;
  const telemetry = new UniqueTally(capacity);
  const frames = new UniqueTally(Math.ceil(capacity / imageEvery) + 10);
  const decoded = new UniqueTally(Math.ceil(capacity / imageEvery) + 10);
  const auditor = await connectMqtt({ url: broker.url, clientId: 'soak-auditor', mqtt: { clean: false }, reconnectPeriodMs: 1000 });
  const auditorReconnects: number[] = [];
  auditor.connected.on(({ reconnect }) => void (reconnect ? auditorReconnects.push(Date.now()) : undefined));
  auditor.onMessage(filters.allTelemetry, (m) => {
    const seq = /"seq":(\d+)/.exec(m.payload.toString('latin1'))?.[1];
    telemetry.add(m.topic.split('/')[3]!, Number(seq));
  });
  auditor.onMessage(filters.allLinkRx, (m) => {
    if (m.payload.length >= 20) frames.add(m.topic.split('/')[3]!, m.payload.readUInt32LE(16));
  });
  await auditor.subscribe(filters.allTelemetry, { qos: 1 });
  await auditor.subscribe(filters.allLinkRx, { qos: 1 });

  let cloud: Child | undefined;
  let fleet: Child | undefined;
  const series = { broker: new ProcessSeries(), cloud: new ProcessSeries(), fleet: new ProcessSeries(), auditor: new ProcessSeries() };
  const brokerUp: number[] = [];
  const loadBefore = loadavg()[0]!;
  try {
    // akb-cloud prints a line per finished image: `image <device> session <s> #<n> …` (frame id = n here).
    const onLine = (line: string): void => {
      const m = /^image (\S+) session \d+ #(\d+) .*\(complete\)$/.exec(line);
      if (m) decoded.add(m[1]!, Number(m[2]));
    };
    cloud = startChild(process.execPath, [CLOUD_BIN, '--broker', broker.url, '--client-id', 'soak-cloud', '--persistent-session', '--set', 'akb-k256', '--db', `sqlite:${db}`], { ...process.env, AKB_LOG_LEVEL: 'warn' }, onLine);
    await cloud.wait(/akb-cloud: watching/, 60_000, 'akb-cloud starting');
    fleet = startChild(process.execPath, ['--import', 'tsx', here('./fleet.ts'), '--broker', broker.url, '--devices', String(devices), '--seconds', String(seconds), '--image-every', String(imageEvery)]);
    await fleet.wait(/"ready":true/, 180_000, 'the simulated fleet connecting');
    const t0 = Date.now();
    const restartAt = Array.from({ length: restarts }, (_, i) => ((i + 1) * seconds * 1000) / (restarts + 1));
    let lastSample = -Infinity;
    while (fleet.child.exitCode === null) {
      const t = Date.now() - t0;
      if (restartAt.length > 0 && t >= restartAt[0]!) {
        restartAt.shift();
        process.stderr.write(`bench soak: ${signal} to the broker at ${Math.round(t / 1000)} s, back after ${downMs} ms\n`);
        await broker.restart({ downMs, signal });
        brokerUp.push(Date.now());
      }
      if (t - lastSample >= 5000) {
        lastSample = t;
        const s = Math.round(t / 1000);
        series.broker.add(s, broker.pid());
        series.cloud.add(s, cloud.child.pid);
        series.fleet.add(s, fleet.child.pid);
        series.auditor.add(s, process.pid);
      }
      if (cloud.child.exitCode !== null) throw new Error(`akb-cloud exited (${cloud.child.exitCode}) during the soak:\n${cloud.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 5000)); // the last messages reach the auditor and the store
    const text = fleet.output();
    const summaryLine = /\{"summary":.*\}/.exec(text)?.[0];
    if (summaryLine === undefined) throw new Error(`the fleet printed no summary:\n${text.slice(-3000)}`);
    const per = (JSON.parse(summaryLine) as { summary: DeviceSummary[] }).summary;
    const loss = lossReport(per, telemetry, frames, decoded, db) as { zeroLoss: boolean };
    const reconnects = [...text.matchAll(/\{"reconnected":\{"device":"[^"]+","at":(\d+)\}\}/g)].map((m) => Number(m[1]));
    return {
      bench: 'soak',
      config: { devices, seconds, restarts, signal, downMs, imageEvery, broker: 'mosquitto (persistence on, autosave_interval 1, max_queued_messages 0)', loadAverage: { before: loadBefore, after: loadavg()[0]! } },
      published: totals(per),
      loss,
      ...(loss.zeroLoss ? {} : { cloudLogTail: cloud.output().slice(-2000).split('\n') }),
      reconnect: reconnectReport(brokerUp, reconnects, auditorReconnects, devices),
      processes: Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v.summary(60, 60)])),
    };
  } finally {
    await stopChild(fleet);
    await stopChild(cloud);
    await auditor.close({ force: true });
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function totals(per: readonly DeviceSummary[]): Record<string, number> {
  const sum = (k: keyof DeviceSummary): number => per.reduce((s, d) => s + (d[k] as number), 0);
  return { telemetrySent: sum('telemetrySent'), telemetryAcked: sum('telemetryAcked'), framesSent: sum('framesSent'), framesAcked: sum('framesAcked'), feedback: sum('feedback'), publishFailures: sum('failures') };
}

/** Messages the broker acknowledged that a receiver never got (acknowledged count minus distinct received, per device). */
function lossReport(per: readonly DeviceSummary[], telemetry: UniqueTally, frames: UniqueTally, decoded: UniqueTally, db: string): object {
  const rows = new Database(db, { readonly: true })
    .prepare("SELECT device, count(DISTINCT json_extract(message, '$.seq')) AS n FROM telemetry GROUP BY device")
    .all() as { device: string; n: number }[];
  const stored = new Map(rows.map((r) => [r.device, r.n]));
  let auditorTelemetry = 0;
  let auditorFrames = 0;
  let cloudTelemetry = 0;
  let cloudFrames = 0;
  let noFeedback = 0;
  const worst: string[] = [];
  for (const d of per) {
    const t = Math.max(0, d.telemetryAcked - telemetry.count(d.device, d.telemetrySent));
    const f = Math.max(0, d.framesAcked - frames.count(d.device, d.framesSent));
    const ct = Math.max(0, d.telemetryAcked - (stored.get(d.device) ?? 0));
    const cf = Math.max(0, d.framesAcked - decoded.count(d.device, d.framesSent));
    noFeedback += Math.max(0, d.framesAcked - d.feedback);
    auditorTelemetry += t;
    auditorFrames += f;
    cloudTelemetry += ct;
    cloudFrames += cf;
    if (t + f + ct + cf > 0 && worst.length < 10) worst.push(`${d.device}: auditor telemetry ${t} frames ${f}, cloud telemetry ${ct} frames not decoded ${cf}`);
  }
  return {
    auditor: { telemetry: auditorTelemetry, frames: auditorFrames, duplicatesReceived: telemetry.duplicates + frames.duplicates },
    cloud: { telemetryRows: cloudTelemetry, framesNotDecoded: cloudFrames },
    // Feedback travels at QoS 0 (PROTOCOL.md: stale feedback is worthless) to devices with clean sessions:
    // what the cloud sends while a device reconnects is dropped by design, so it is not counted as loss.
    feedbackMissingQos0: noFeedback,
    zeroLoss: auditorTelemetry + auditorFrames + cloudTelemetry + cloudFrames === 0,
    ...(worst.length > 0 ? { examples: worst } : {}),
  };
}

function reconnectReport(up: readonly number[], reconnects: readonly number[], auditor: readonly number[], devices: number): object {
  // Each reconnect belongs to the last broker start before it.
  const delays = (times: readonly number[]): number[] =>
    times.flatMap((at) => {
      const start = [...up].reverse().find((u) => u <= at + 50);
      return start === undefined ? [] : [Math.max(0, at - start)];
    }).sort((a, b) => a - b);
  const d = delays(reconnects);
  return {
    devicesReconnected: reconnects.length,
    expected: devices * up.length,
    fromBrokerUpMs: { p50: percentile(d, 50), p99: percentile(d, 99), max: d.at(-1) ?? null },
    auditorMs: delays(auditor),
    note: 'clients retry every 1000 ms (reconnectPeriodMs), so up to 1 s is the retry timer, not the broker',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await runSoak(), null, 2)}\n`);
}
