/** The embedded broker (aedes, MQTT 3.1.1 only) on a free loopback port, in this process. */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import type { BrokerHandle } from './broker-handle.js';

export interface AedesFixtureOptions {
  /** Port to listen on (default: one the kernel picks). */
  port?: number;
  /** Passed to aedes (authenticate, authorizePublish, …). */
  aedes?: AedesOptions;
}

export interface AedesHandle extends BrokerHandle {
  kind: 'aedes';
  broker(): Aedes;
}

interface Running {
  broker: Aedes;
  server: Server;
  sockets: Set<Socket>;
}

async function listen(port: number, options: AedesOptions | undefined): Promise<Running & { port: number }> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    // As Mosquitto's set_tcp_nodelay: without it, QoS 1 round trips wait on delayed ACKs (~40 ms a hop).
    socket.setNoDelay(true);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
  return { broker, server, sockets, port: bound };
}

async function stop(r: Running): Promise<void> {
  await new Promise<void>((resolve) => r.broker.close(() => resolve()));
  for (const s of r.sockets) s.destroy();
  await new Promise<void>((resolve) => r.server.close(() => resolve()));
}

export async function startAedes(opts: AedesFixtureOptions = {}): Promise<AedesHandle> {
  const first = await listen(opts.port ?? 0, opts.aedes);
  const port = first.port;
  let running: Running | undefined = first;
  return {
    kind: 'aedes',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    broker: () => {
      if (!running) throw new Error('aedes is stopped');
      return running.broker;
    },
    log: () => '(aedes runs in process: no log)',
    async close() {
      const r = running;
      running = undefined;
      if (r) await stop(r);
    },
    async restart(options: { downMs?: number } = {}) {
      if (running) await stop(running);
      running = undefined;
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      running = await listen(port, opts.aedes);
    },
  };
}
