/** Free loopback ports and waiting for a listener. Never a fixed port: a system broker may hold 1883. */
import { createConnection, createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the port of a free socket'))));
    });
  });
}

/**
 * `count` distinct free ports: every socket stays open until all are taken, so the kernel cannot hand the
 * same port out twice (freePort called in a row can: a NATS node's client port once equalled another's
 * monitoring port).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  if (ports.some((p) => p === 0)) throw new Error('could not read the port of a free socket');
  return ports;
}

/** True once a TCP connection to 127.0.0.1:port succeeds. */
export async function portAccepts(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls until the port accepts, `gaveUp()` returns a reason (e.g. the process exited), or the timeout passes.
 * Rejects with an Error naming the reason.
 */
export async function waitForPort(port: number, options: { timeoutMs?: number; gaveUp?: () => string | undefined } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const reason = options.gaveUp?.();
    if (reason !== undefined) throw new Error(reason);
    if (await portAccepts(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${options.timeoutMs ?? 10_000} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
