/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on a free port of the loopback interface, so `npm run demo`
 * and field tests need nothing installed. Deployments point at Mosquitto, EMQX or any other broker.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { AkbError } from '@akb/protocol';

export interface EmbeddedBroker {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: { host?: string; port?: number } = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  const server: Server = createServer((socket) => {
    // Without TCP_NODELAY a client that acknowledges a QoS 1 message gets the broker's next small messages
    // ~40 ms late (Nagle against delayed ACK): measured 41-45 ms for QoS 0 fragments after a QoS 1 meta,
    // 1-3 ms with it; a HIL sweep spent ~50 ms per image there (bench/hil).
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      aedes.close();
      reject(
        new AkbError('BROKER_LISTEN', `embedded broker cannot listen on ${host}:${options.port ?? 0}: ${e.code ?? e.message}`, {
          hint: e.code === 'EADDRINUSE' ? 'pick another --port, or 0 for a free one' : undefined,
          cause: e,
        }),
      );
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${host}:${port}`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
        // Clients that never disconnect would keep server.close waiting.
        server.unref();
      }),
  };
}
