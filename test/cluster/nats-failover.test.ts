/**
 * The fleet on a three-node NATS cluster through its MQTT interface (MQTT 3.1.1), and one node killed
 * (SIGKILL) mid-run. Four edges publish numbered telemetry and frames at QoS 1; two cloud workers split
 * the devices with `--partition` (rendezvous hashing: NATS has no shared subscriptions) and run the real
 * CloudService on their connection. Every client is given all three nodes (brokers.ts), each list starting
 * at a different node, so the killed node carries edges and a worker.
 *
 * What must hold: every client that was on the killed node connects to another; every device's telemetry
 * and frames reach the worker that owns the device (duplicates allowed, QoS 1 is at-least-once) and never
 * the other (QoS 1 promises no loss; NATS 2.9 loses a few messages in some runs: LOSS_TOLERANCE says how
 * many, and the count is printed); each worker's fleet registry lists exactly its devices. The workers keep their MQTT
 * sessions (clean: false): on NATS a session lives in JetStream, replicated over the nodes, so what arrives
 * while a worker moves is delivered after it reconnects. Reconnect times and counts are printed as one
 * JSON line (no timing assertions: this machine is shared).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { CloudService, DeviceScope, Partition } from '@akb/cloud';
import { describeWithProgram, testBirth } from '../support/index.js';
import { startNatsCluster, type NatsCluster } from '../support/nats.js';
import { ConnectionWatch, Tally, percentile, publishNumbered, rotated } from './fleet.js';

const EDGES = 4;
const WORKERS = 2;
const COUNT = 150;
const KILL_AFTER = 40;
/**
 * NATS sends a QoS 1 message again when its PUBACK has not come within ack_wait (30 s by default): what the
 * killed node had delivered to a worker without its acknowledgement reaches the worker that long after.
 * Measured with the default: every message there, the last 30.1 s after the kill. 5 s here.
 */
const ACK_WAIT = '5s';
/**
 * What NATS 2.9.10 loses of the QoS 1 messages when a node dies, as measured here: none in 10 runs of 15,
 * 1 to 3 of the 1200 in 5, on their way to a worker (through the killed node or a surviving one; with
 * `max_ack_pending: 16` both runs lost 3). The edges' side loses nothing (mqtt.js sends again what was not
 * acknowledged). Zero is what QoS 1 promises; this test prints the count and fails above this tolerance
 * (1 %), so a worse broker is caught. runtime-cloud/README.md has the runs.
 */
const LOSS_TOLERANCE = 12;
/**
 * Which node dies. A client's CONNECT on NATS waits on the `$MQTT_sess` stream: when its leader dies, no
 * node admits a client until the stream's followers elect another (NATS's raft: a follower waits 4-9 s
 * for a lost leader). The default kills that leader, the worst case; AKB_NATS_KILL=other kills a node
 * leading neither the sessions nor the JetStream meta group.
 */
const KILL: 'sessions-leader' | 'other' = process.env.AKB_NATS_KILL === 'other' ? 'other' : 'sessions-leader';

describeWithProgram('nats-server', 'nats-server', 'a fleet on a three-node NATS cluster loses a node', () => {
  let cluster: NatsCluster;
  const devices = balancedDevices();
  const edges: AkbMqttClient[] = [];
  const workers: { client: AkbMqttClient; service: CloudService; tally: Tally; partition: Partition }[] = [];
  const watches: ConnectionWatch[] = [];
  let victim = 0;
  let ledBefore: Awaited<ReturnType<NatsCluster['leaders']>>;

  beforeAll(async () => {
    cluster = await startNatsCluster({ mqttConfig: `  ack_wait: "${ACK_WAIT}"` });
    ledBefore = await cluster.leaders();
    const names = cluster.nodes().map((n) => n.name);
    const sessions = names.indexOf(ledBefore.streams.$MQTT_sess ?? '');
    victim = KILL === 'sessions-leader' ? sessions : names.findIndex((n, i) => i !== sessions && n !== ledBefore.meta);
    expect(victim, `no node to kill for ${KILL}: ${JSON.stringify(ledBefore)}`).toBeGreaterThanOrEqual(0);
    for (let w = 0; w < WORKERS; w++) {
      const partition = new Partition(w, WORKERS);
      const client = await connectMqtt({
        url: rotated(cluster.urls, victim + w),
        clientId: `akb-cloud-${process.pid}-w${w}`,
        protocolVersion: 4,
        keepaliveSeconds: 5,
        mqtt: { clean: false },
      });
      const tally = new Tally((d) => partition.owns(d));
      tally.attach(client);
      await client.subscribe('akb/v1/dev/+/telemetry', { qos: 1 });
      await client.subscribe('akb/v1/dev/+/link/rx', { qos: 1 });
      const service = await CloudService.attach(client, { clientId: `akb-cloud-w${w}`, scope: DeviceScope.all().withPartition(partition) });
      workers.push({ client, service, tally, partition });
      watches.push(new ConnectionWatch(`worker-${w}`, client));
    }
    for (let e = 0; e < EDGES; e++) {
      const edge = await connectDevice({
        url: rotated(cluster.urls, victim + e),
        deviceId: devices[e]!,
        keepaliveSeconds: 5,
        birth: testBirth(devices[e]!),
      });
      edges.push(edge);
      watches.push(new ConnectionWatch(`edge-${e}`, edge));
    }
  }, 90_000);

  afterAll(async () => {
    for (const w of workers) await w.service.stop().catch(() => undefined);
    await Promise.all([...edges, ...workers.map((w) => w.client)].map((c) => c.close({ force: true })));
    await cluster?.close();
  });

  it('every client on the killed node reconnects to another, and no QoS 1 message is lost', async () => {
    const victimPort = new URL(cluster.urls[victim]!).port;
    const onVictim = watches.filter((w) => String(w.port) === victimPort).map((w) => w.name);
    // Each list starts at a different node, from the victim on: it carries edges 0 and 3 and worker 0.
    expect(onVictim).toEqual(expect.arrayContaining(['worker-0', 'edge-0']));

    let killedAt = 0;
    let killing: Promise<void> | undefined;
    const sent = new Array<number>(EDGES).fill(0);
    const startedAt = Date.now();
    const publishing = edges.map((edge, e) =>
      publishNumbered(edge, devices[e]!, COUNT, {
        gapMs: 5,
        onSent: () => {
          sent[e]!++;
          if (killing === undefined && Math.min(...sent) >= KILL_AFTER) {
            killedAt = Date.now();
            killing = cluster.kill(victim);
          }
        },
      }),
    );
    await Promise.all(publishing);
    const publishedAt = Date.now();
    await killing;
    expect(killedAt).toBeGreaterThan(0);

    // Everything the edges had acknowledged reaches the owning worker (sessions resumed on another node).
    const deadline = Date.now() + 45_000;
    while (!workers.every((w) => w.tally.complete(devices, COUNT)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const deliveredAt = Date.now();

    const reconnects = watches.filter((w) => onVictim.includes(w.name)).map((w) => ({ client: w.name, ...w.reconnectAfter(killedAt) }));
    const perDevice = devices.map((d) => {
      const owner = workers.find((w) => w.partition.owns(d))!;
      const r = owner.tally.devices.get(d) ?? { telemetry: new Set<number>(), frames: new Set<number>(), duplicates: 0 };
      const gaps = (seen: Set<number>): number[] => Array.from({ length: COUNT }, (_, i) => i).filter((i) => !seen.has(i)).slice(0, 10);
      return {
        device: d,
        worker: owner.partition.index,
        telemetry: r.telemetry.size,
        frames: r.frames.size,
        missing: 2 * COUNT - r.telemetry.size - r.frames.size,
        firstMissing: { telemetry: gaps(r.telemetry), frames: gaps(r.frames) },
        duplicates: r.duplicates,
        seenByOtherWorkers: workers.filter((w) => w !== owner && w.tally.devices.has(d)).length,
      };
    });
    const times = reconnects.flatMap((r) => (r.ms === undefined ? [] : [r.ms]));
    console.log(
      JSON.stringify({
        test: 'nats-failover',
        nodes: cluster.urls.length,
        killed: `${cluster.nodes()[victim]!.name} (SIGKILL), ${KILL}`,
        leadersBefore: ledBefore,
        ackWait: ACK_WAIT,
        edges: EDGES,
        workers: WORKERS,
        messagesPerDevice: 2 * COUNT,
        killedAfterPairs: KILL_AFTER,
        publishMs: publishedAt - startedAt,
        allDeliveredAfterKillMs: deliveredAt - killedAt,
        reconnectMs: Object.fromEntries(reconnects.map((r) => [r.client, r.ms])),
        reconnectP50Ms: percentile(times, 50),
        reconnectMaxMs: Math.max(...times),
        within5s: times.length === reconnects.length && times.every((t) => t <= 5000),
        lost: perDevice.reduce((n, p) => n + p.missing, 0),
        lostByWorkerOnKilledNode: perDevice.filter((p) => onVictim.includes(`worker-${p.worker}`)).reduce((n, p) => n + p.missing, 0),
        duplicates: perDevice.reduce((n, p) => n + p.duplicates, 0),
        ignoredByPartition: workers.map((w) => w.tally.ignored),
        perDevice,
      }),
    );

    for (const r of reconnects) {
      expect(r.ms, `${r.client} reconnected`).toBeDefined();
      expect(String(r.port), `${r.client} moved off the killed node`).not.toBe(victimPort);
    }
    const lost = perDevice.filter((p) => p.missing > 0).map((p) => `${p.device} (worker ${p.worker}): ${JSON.stringify(p.firstMissing)}`);
    expect(perDevice.reduce((n, p) => n + p.missing, 0), `lost: ${lost.join('; ')}`).toBeLessThanOrEqual(LOSS_TOLERANCE);
    for (const p of perDevice) expect(p.seenByOtherWorkers, `${p.device}: handled outside its partition`).toBe(0);
    // The real service of each worker: its registry holds its own devices, online, and no others.
    for (const w of workers) {
      const mine = devices.filter((d) => w.partition.owns(d)).sort();
      const online = (): string[] => w.service.fleet.list().filter((e) => devices.includes(e.device) && e.state === 'online').map((e) => e.device).sort();
      await expect.poll(online, { timeout: 15_000 }).toEqual(mine);
      expect(w.tally.ignored).toBeGreaterThan(0);
    }
  }, 100_000);
});

/** EDGES device ids, EDGES / WORKERS owned by each worker, so each worker has devices and ignores some. */
function balancedDevices(): string[] {
  const partition = new Partition(0, WORKERS);
  const byWorker = Array.from({ length: WORKERS }, () => [] as string[]);
  for (let k = 0; byWorker.some((ids) => ids.length < EDGES / WORKERS); k++) {
    const id = `nats-cam-${process.pid}-${k}`;
    const mine = byWorker[partition.owner(id)]!;
    if (mine.length < EDGES / WORKERS) mine.push(id);
  }
  // Interleaved, so the edges that start on the killed node belong to both workers.
  return Array.from({ length: EDGES }, (_, i) => byWorker[i % WORKERS]![Math.floor(i / WORKERS)]!);
}
