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
