/**
 * The soak's simulated edges, in a process of their own: `--devices` MQTT connections (one per device,
 * birth and last will as akb-edge connects, mqtt.js reconnecting every second), each publishing
 *
 * - one telemetry sample a second (QoS 1, `seq` counting from 0), and
 * - one CIFAR-10 image every `--image-every` seconds: its image meta on `link/meta` and its one tile's
 *   frame on `link/rx` (QoS 1), as the channel delivers what the edge sent: real AKB-JSCC symbols (akb-k256,
 *   encoded once here with the real encoder, AWGN at 5 dB), retagged with the device's session and the
 *   image's frame id, so akb-cloud decodes each one and answers with feedback;
 *
 * and subscribed to its own feedback (QoS 1). Publishing never waits for the broker: while it is down,
 * mqtt.js keeps the unacknowledged QoS 1 messages and sends them again after reconnecting.
 *
 * stdout, one JSON line each: `{"ready":…}` once every device is connected; `{"reconnected":…}` for each
 * reconnect of a device (its time); at the end `{"summary":…}`: per device what the broker acknowledged
 * (telemetry seqs and frame ids, as counts and highest), the feedback received, and publish failures.
 *
 *   node --import tsx bench/soak/fleet.ts --broker mqtt://127.0.0.1:1883 --devices 200 --seconds 600
 */
import { parseArgs } from 'node:util';
import { encodeMessage, topics } from '../../protocol/src/index.js';
import { connectDevice, type AkbMqttClient } from '../../protocol/src/mqtt/index.js';
import { loadModelSet } from '../../jscc/src/index.js';
import { SetSessions, loadFixtureImages, retagFrame, sendImage } from '../../runtime-cloud/src/testing.js';

const { values } = parseArgs({
  options: {
    broker: { type: 'string' },
    devices: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '600' },
    'image-every': { type: 'string', default: '5' },
    prefix: { type: 'string', default: 'soak' },
  },
});
const broker = values.broker ?? 'mqtt://127.0.0.1:1883';
const count = Number(values.devices);
const seconds = Number(values.seconds);
const imageEvery = Number(values['image-every']);
const deviceId = (i: number): string => `${values.prefix}-${String(i).padStart(4, '0')}`;

interface DeviceTally {
  telemetryAcked: number;
  telemetrySent: number;
  framesAcked: number;
  framesSent: number;
  feedback: Set<number>;
  failures: number;
}

const set = await loadModelSet('models/zoo', 'akb-k256');
const sessions = await SetSessions.create(set);
const image = await sendImage(sessions, await loadFixtureImages(), { width: 32, height: 32, session: 1, image: 0, firstFrameId: 0, snrDb: 5, actionId: 7, seed: 1 });
await sessions.release();
const frame = image.tiles[0]!.fragments[0]!;

const bootTime = Date.now();
const birth = (id: string) => (session: number): object => ({
  v: 1, device: id, session, ts: Date.now(), state: 'online', profile: 'rpi-5', bootTime,
  versions: { runtime: '0.1.0', protocol: '1.4', models: [], kb: null }, capabilities: ['proto:1.4'],
});

const clients: AkbMqttClient[] = [];
const tallies: DeviceTally[] = [];
for (let i = 0; i < count; i++) {
  const id = deviceId(i);
  const client = await connectDevice({ url: broker, deviceId: id, birth: birth(id), reconnectPeriodMs: 1000 });
  const tally: DeviceTally = { telemetryAcked: 0, telemetrySent: 0, framesAcked: 0, framesSent: 0, feedback: new Set(), failures: 0 };
  client.connected.on(({ reconnect }) => {
    if (reconnect) process.stdout.write(`${JSON.stringify({ reconnected: { device: id, at: Date.now() } })}\n`);
  });
  client.onMessage(topics.feedback(id), (m) => {
    const f = JSON.parse(m.payload.toString('utf8')) as { frameId?: unknown };
    if (typeof f.frameId === 'number') tally.feedback.add(f.frameId);
  });
  await client.subscribe(topics.feedback(id), { qos: 1 });
  clients.push(client);
  tallies.push(tally);
}
process.stdout.write(`${JSON.stringify({ ready: true, devices: count, frameBytes: frame.length })}\n`);

let stopping = false;
const timers: NodeJS.Timeout[] = [];
const started = Date.now();
for (let i = 0; i < count; i++) {
  const id = deviceId(i);
  const client = clients[i]!;
  const tally = tallies[i]!;
  // Each device's own edge session: frames and metas of device i carry it, frame id = image number.
  const session = (0x5000_0000 + i) >>> 0;
  const telemetry = (): void => {
    if (stopping) return;
    const seq = tally.telemetrySent++;
    const sample = { v: 1, device: id, ts: Date.now(), seq, snrDb: 5, latencyMs: { total: 40 }, cpuPercent: 20, memoryRssBytes: 150 * 2 ** 20, counters: { framesSent: tally.framesSent, framesDropped: 0, framesMalformed: 0 } };
    client.publish(topics.telemetry(id), JSON.stringify(sample), { qos: 1 }).then(() => tally.telemetryAcked++, () => tally.failures++);
  };
  const sendFrame = (): void => {
    if (stopping) return;
    const n = tally.framesSent++;
    const meta = encodeMessage('image-meta', { ...image.meta, session, image: n, firstFrameId: n, ts: Date.now() });
    client.publish(topics.linkMeta(id), meta, { qos: 1 }).catch(() => tally.failures++);
    const bytes = retagFrame(retagFrame(frame, 'session', session), 'frameId', n);
    client.publish(topics.linkRx(id), bytes, { qos: 1 }).then(() => tally.framesAcked++, () => tally.failures++);
  };
  timers.push(setTimeout(() => {
    telemetry();
    timers.push(setInterval(telemetry, 1000));
  }, Math.floor((i * 1000) / count)));
  timers.push(setTimeout(() => {
    sendFrame();
    timers.push(setInterval(sendFrame, imageEvery * 1000));
  }, Math.floor((i * imageEvery * 1000) / count)));
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
// Whatever is still unacknowledged gets up to 30 s (a broker that just came back), then feedback 10 s more.
const pending = (): number => tallies.reduce((s, t) => s + (t.telemetrySent - t.telemetryAcked) + (t.framesSent - t.framesAcked), 0) - tallies.reduce((s, t) => s + t.failures, 0);
for (let waited = 0; pending() > 0 && waited < 30_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
for (let waited = 0; tallies.some((t) => t.feedback.size < t.framesAcked) && waited < 10_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
const summary = tallies.map((t, i) => ({
  device: deviceId(i),
  telemetrySent: t.telemetrySent,
  telemetryAcked: t.telemetryAcked,
  framesSent: t.framesSent,
  framesAcked: t.framesAcked,
  feedback: t.feedback.size,
  failures: t.failures,
}));
process.stdout.write(`${JSON.stringify({ summary, seconds: (Date.now() - started) / 1000 })}\n`);
await Promise.all(clients.map((c) => c.close({ timeoutMs: 2000 })));
process.exit(0);
