/**
 * The simulated fleet of the telemetry benchmark, run as a process of its own so that its publishing
 * does not share an event loop with what measures: `--devices` MQTT clients (one connection per device,
 * each with its birth and last will, as akb-edge connects), each publishing one telemetry sample a second
 * at QoS 1, their phases spread evenly over the second. A sample's `ts` is taken right before its
 * publish, so a receiver's `now - ts` is the lag from publish (all processes share this machine's clock).
 *
 *   node --import tsx bench/telemetry/fleet.ts --broker mqtt://127.0.0.1:1883 --devices 200 --seconds 300
 *
 * Prints `{"ready":true,"devices":N}` once every device is connected, and at the end one JSON line with
 * what it published. Stops early on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { topics } from '../../protocol/src/topics.js';
import { connectDevice, type AkbMqttClient } from '../../protocol/src/mqtt/index.js';

const { values } = parseArgs({
  options: { broker: { type: 'string' }, devices: { type: 'string', default: '200' }, seconds: { type: 'string', default: '300' } },
});
const broker = values.broker ?? 'mqtt://127.0.0.1:1883';
const count = Number(values.devices);
const seconds = Number(values.seconds);

const deviceId = (i: number): string => `sim-${String(i).padStart(4, '0')}`;

function birth(id: string, bootTime: number): (session: number) => object {
  return (session) => ({
    v: 1, device: id, session, ts: Date.now(), state: 'online', profile: 'rpi-5', bootTime,
    versions: { runtime: '0.1.0', protocol: '1.2', models: [], kb: null }, capabilities: ['proto:1.2'],
  });
}

function sample(id: string, seq: number): string {
  // A drifting SNR, the action and quality that go with it: the dashboard's charts get something to draw.
  const snr = 8 + 6 * Math.sin(seq / 20 + id.length);
  return JSON.stringify({
    v: 1, device: id, ts: Date.now(), seq,
    latencyMs: { capture: 2, encode: 14, policy: 1, frame: 2, send: 9, total: 45 },
    action: { id: snr > 8 ? 2 : 5, ratePrefix: snr > 8 ? 256 : 512, power: 1 },
    snrDb: Math.round(snr * 100) / 100,
    quality: { psnr: 24 + snr / 3, ssim: 0.8 + snr / 100 },
    cpuPercent: 30, memoryRssBytes: 150 * 2 ** 20, temperatureC: 48,
    counters: { framesSent: seq, framesDropped: 0, framesMalformed: 0 },
  });
}

const bootTime = Date.now();
const clients: AkbMqttClient[] = [];
for (let i = 0; i < count; i++) {
  const id = deviceId(i);
  clients.push(await connectDevice({ url: broker, deviceId: id, birth: birth(id, bootTime) }));
}
process.stdout.write(`${JSON.stringify({ ready: true, devices: count })}\n`);

let published = 0;
let failed = 0;
let stopping = false;
const timers: NodeJS.Timeout[] = [];
const started = Date.now();
for (let i = 0; i < count; i++) {
  const id = deviceId(i);
  let seq = 0;
  const send = (): void => {
    if (stopping) return;
    clients[i]!.publish(topics.telemetry(id), sample(id, seq++), { qos: 1 }).then(
      () => published++,
      () => failed++,
    );
  };
  timers.push(setTimeout(() => {
    send();
    timers.push(setInterval(send, 1000));
  }, Math.floor((i * 1000) / count)));
}

await new Promise<void>((resolve) => {
  const end = setTimeout(resolve, seconds * 1000);
  process.once('SIGTERM', () => {
    clearTimeout(end);
    resolve();
  });
});
stopping = true;
for (const t of timers) clearTimeout(t);
await new Promise((r) => setTimeout(r, 500));
await Promise.all(clients.map((c) => c.close({ timeoutMs: 2000 })));
process.stdout.write(`${JSON.stringify({ published, failed, seconds: (Date.now() - started) / 1000 })}\n`);
process.exit(0);
