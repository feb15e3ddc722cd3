/**
 * A private three-node NATS cluster (Debian's nats-server, 2.9 here) with its MQTT interface, on free
 * loopback ports, in a temporary folder; never a system server. Each node has a `server_name`, its own
 * JetStream `store_dir`, a cluster listener with routes to the other two, a client port and an MQTT
 * listener. MQTT on NATS needs JetStream: sessions, retained messages and QoS 1 deliveries live in streams
 * the server makes, replicated over the cluster (stream_replicas 3 here), so a client that loses its node
 * resumes its session on another.
 *
 *   const cluster = await startNatsCluster();
 *   connectMqtt({ url: cluster.urls.join(',') });   // failover over the three MQTT listeners
 *   await cluster.kill(0);                          // SIGKILL, as a crash
 *   await cluster.start(0);                         // the same node again, same ports and store
 *
 * Ready means: each node accepted an MQTT CONNECT (so the JetStream meta group had a leader and the
 * MQTT streams exist), not only that its port was open.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { freePorts, waitForPort } from './ports.js';
import { findProgram, missingMessage } from './programs.js';

export interface NatsNodeInfo {
  name: string;
  /** `mqtt://127.0.0.1:<port>` of its MQTT listener. */
  url: string;
  mqttPort: number;
  clientPort: number;
  clusterPort: number;
  /** The HTTP monitoring port (`/jsz`, `/healthz`). */
  monitorPort: number;
  running: boolean;
}

export interface NatsCluster {
  /** The nodes' MQTT URLs, node 0 first. */
  readonly urls: readonly string[];
  nodes(): NatsNodeInfo[];
  /** Ends node `i` (SIGKILL by default: a crash; SIGTERM lets it say goodbye) and waits for its exit. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node `i` again on its ports and store, and waits until it takes MQTT connections. */
  start(i: number): Promise<void>;
  /**
   * Who leads what, asked of a running node's monitoring port: the JetStream meta group, and each
   * stream (the MQTT ones: `$MQTT_sess` sessions, `$MQTT_msgs` QoS 1 messages, `$MQTT_rmsgs` retained).
   */
  leaders(): Promise<{ meta: string | undefined; streams: Record<string, string | undefined> }>;
  /** The log of node `i` (its last lines), for failure messages. */
  log(i: number): string;
  /** Stops every node and removes the folder. Idempotent. */
  close(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Nodes (default 3; JetStream needs a majority, so one of three may be down). */
  size?: number;
  /** Per node, until it takes an MQTT connection (default 30 000 ms). */
  startTimeoutMs?: number;
  /** Extra lines inside each node's `mqtt { }` block (e.g. `ack_wait: "5s"`). */
  mqttConfig?: string;
}

const LOG_LINES = 300;

interface Node {
  info: NatsNodeInfo;
  conf: string;
  child: ChildProcess | undefined;
  log: string[];
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const program = findProgram('nats-server');
  if (program === undefined) throw new Error(missingMessage('nats-server', 'nats-server'));
  const size = options.size ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'akb-nats-'));
  const nodes: Node[] = [];
  try {
    const ports = await freePorts(4 * size);
    for (let i = 0; i < size; i++) {
      const [mqttPort, clientPort, clusterPort, monitorPort] = ports.slice(4 * i, 4 * i + 4) as [number, number, number, number];
      const name = `n${i + 1}`;
      const info = { name, url: `mqtt://127.0.0.1:${mqttPort}`, mqttPort, clientPort, clusterPort, monitorPort, running: false };
      nodes.push({ info, conf: join(dir, `${name}.conf`), child: undefined, log: [] });
    }
    for (const node of nodes) {
      await mkdir(join(dir, node.info.name), { recursive: true });
      await writeFile(node.conf, config(node, nodes, dir, options.mqttConfig));
    }
    // All at once: a node waits for its routes, and JetStream for a majority, before MQTT works.
    for (const node of nodes) launch(program, node);
    await Promise.all(nodes.map((n) => ready(n, timeoutMs)));
  } catch (e) {
    await Promise.all(nodes.map((n) => stop(n, 'SIGKILL')));
    const logs = nodes.map((n) => `--- ${n.info.name} ---\n${n.log.join('\n')}`).join('\n');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${logs}`);
  }
  const onExit = (): void => {
    for (const n of nodes) n.child?.kill('SIGKILL');
  };
  process.once('exit', onExit);
  let closed = false;
  const node = (i: number): Node => {
    const n = nodes[i];
    if (n === undefined) throw new Error(`no NATS node ${i} (the cluster has ${nodes.length})`);
    return n;
  };
  return {
    urls: nodes.map((n) => n.info.url),
    nodes: () => nodes.map((n) => ({ ...n.info })),
    async kill(i, signal = 'SIGKILL') {
      const n = node(i);
      n.log.push(`--- ${signal} ---`);
      await stop(n, signal);
    },
    async start(i) {
      if (closed) throw new Error('the NATS cluster is closed');
      const n = node(i);
      if (n.child !== undefined) return;
      n.log.push('--- start ---');
      launch(program, n);
      await ready(n, timeoutMs);
    },
    leaders: () => leaders(nodes),
    log: (i) => node(i).log.join('\n'),
    async close() {
      if (closed) return;
      closed = true;
      process.off('exit', onExit);
      await Promise.all(nodes.map((n) => stop(n, 'SIGTERM')));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function config(node: Node, all: readonly Node[], dir: string, mqttExtra: string | undefined): string {
  const routes = all.filter((n) => n !== node).map((n) => `    "nats-route://127.0.0.1:${n.info.clusterPort}"`);
  return [
    `server_name: ${node.info.name}`,
    `listen: "127.0.0.1:${node.info.clientPort}"`,
    `http: "127.0.0.1:${node.info.monitorPort}"`,
    'jetstream {',
    `  store_dir: "${join(dir, node.info.name)}"`,
    '  max_memory_store: 64MB',
    '  max_file_store: 1GB',
    '}',
    'cluster {',
    '  name: akb',
    `  listen: "127.0.0.1:${node.info.clusterPort}"`,
    '  routes: [',
    ...routes,
    '  ]',
    '}',
    'mqtt {',
    `  listen: "127.0.0.1:${node.info.mqttPort}"`,
    `  stream_replicas: ${Math.min(3, all.length)}`,
    ...(mqttExtra !== undefined ? [mqttExtra] : []),
    '}',
    '',
  ].join('\n');
}

function launch(program: string, node: Node): void {
  const child = spawn(program, ['-c', node.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const capture = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      node.log.push(line);
      if (node.log.length > LOG_LINES) node.log.shift();
    }
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  child.once('exit', (code, signal) => {
    node.log.push(`--- exited (${signal ?? `code ${code}`}) ---`);
    if (node.child === child) node.child = undefined;
    node.info.running = false;
  });
  child.once('error', (e) => node.log.push(`cannot run ${program}: ${e.message}`));
  node.child = child;
  node.info.running = true;
}

/** Waits for the MQTT port, then for one MQTT CONNECT to be accepted (JetStream is up on this node). */
async function ready(node: Node, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const gaveUp = (): string | undefined => (node.child === undefined ? `${node.info.name} exited before taking connections` : undefined);
  await waitForPort(node.info.mqttPort, { timeoutMs, gaveUp });
  let last = '';
  while (Date.now() < deadline) {
    const reason = gaveUp();
    if (reason !== undefined) throw new Error(reason);
    try {
      const probe = await connectAsync(node.info.url, { clientId: `akb-probe-${node.info.name}-${process.pid}`, reconnectPeriod: 0, connectTimeout: 5000 }, false);
      await probe.endAsync();
      return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${node.info.name} took no MQTT connection within ${timeoutMs} ms (last: ${last})`);
}

async function stop(node: Node, signal: NodeJS.Signals): Promise<void> {
  const child = node.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
}

async function leaders(nodes: readonly Node[]): Promise<{ meta: string | undefined; streams: Record<string, string | undefined> }> {
  const up = nodes.find((n) => n.child !== undefined);
  if (up === undefined) throw new Error('no NATS node is running');
  const res = await fetch(`http://127.0.0.1:${up.info.monitorPort}/jsz?accounts=true&streams=true`);
  const jsz = (await res.json()) as Jsz;
  const streams: Record<string, string | undefined> = {};
  for (const a of jsz.account_details ?? []) for (const st of a.stream_detail ?? []) streams[st.name] = st.cluster?.leader;
  return { meta: jsz.meta_cluster?.leader, streams };
}
