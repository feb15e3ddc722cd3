/**
 * The dashboard's WebSocket with real clients (the `ws` package and raw sockets) on a real server: the
 * snapshot and the events, a bad origin refused, the client cap, a client that sends too much, and a
 * client that stops reading dropped while a reading one keeps getting everything.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FleetHub } from '../../runtime-cloud/src/telemetry/hub.js';
import { startDashboard, type Dashboard, type LiveMessage } from '../../runtime-cloud/src/dashboard/index.js';
import { alarm, feedDevice, imageEvent, telemetry } from './dashboard-fixtures.js';

/** A client that keeps every message; `next(test)` waits for one that passes. */
function client(url: string, origin?: string): { ws: WebSocket; messages: LiveMessage[]; opened: Promise<void>; next: (test: (m: LiveMessage) => boolean) => Promise<LiveMessage> } {
  const ws = new WebSocket(url, origin === undefined ? {} : { origin });
  const messages: LiveMessage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString('utf8')) as LiveMessage);
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (test: (m: LiveMessage) => boolean): Promise<LiveMessage> => {
    for (;;) {
      const hit = messages.find(test);
      if (hit) return hit;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { ws, messages, opened, next };
}

/** The status code with which the server refused an upgrade. */
function refusal(url: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

/** A WebSocket client on a raw socket that, once upgraded, reads nothing more. */
function stalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${port}\r\n\r\n`,
      ),
    );
    socket.once('data', (b: Buffer) => {
      if (!b.toString('latin1').startsWith('HTTP/1.1 101')) return reject(new Error(`not upgraded: ${b.toString('latin1').slice(0, 80)}`));
      socket.pause();
      resolve(socket);
    });
    socket.on('error', () => undefined);
  });
}

describe('dashboard WebSocket', () => {
  const open: Dashboard[] = [];
  const sockets: { close(): void }[] = [];
  const start = async (options: Partial<Parameters<typeof startDashboard>[0]> = {}): Promise<{ hub: FleetHub; dash: Dashboard; ws: string }> => {
    const hub = options.hub ?? new FleetHub();
    const dash = await startDashboard({ port: 0, ...options, hub });
    open.push(dash);
    return { hub, dash, ws: `ws://127.0.0.1:${dash.port}/ws` };
  };
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    for (const d of open.splice(0)) await d.close();
  });

  it('sends a snapshot on connect, then every hub event with the send time', async () => {
    const hub = new FleetHub();
    feedDevice(hub, 'cam-01', 2);
    const { dash, ws } = await start({ hub });
    const c = client(ws, `http://127.0.0.1:${dash.port}`);
    sockets.push(c.ws);
    const snap = await c.next((m) => m.type === 'snapshot');
    if (snap.type !== 'snapshot') throw new Error('unreachable');
    expect(snap.devices.map((d) => [d.device, d.state, d.profile, d.telemetry?.seq])).toEqual([['cam-01', 'online', 'rpi-5', 1]]);
    const before = Date.now();
    hub.publish({ kind: 'telemetry', device: 'cam-01', receivedAt: before, message: telemetry('cam-01', 7) });
    hub.publish({ kind: 'alarm', device: 'cam-01', receivedAt: before, message: alarm('cam-01', before, 'low') });
    hub.publish({ kind: 'image', device: 'cam-01', receivedAt: before, image: imageEvent('cam-01', new Uint8Array([137, 80, 78, 71])) });
    const t = await c.next((m) => m.type === 'event' && m.event.kind === 'telemetry');
    if (t.type !== 'event' || t.event.kind !== 'telemetry') throw new Error('unreachable');
    expect(t.event.message.seq).toBe(7);
    expect(t.sentAt).toBeGreaterThanOrEqual(before);
    expect(t.at).toBeGreaterThanOrEqual(before);
    const img = await c.next((m) => m.type === 'event' && m.event.kind === 'image');
    if (img.type !== 'event' || img.event.kind !== 'image') throw new Error('unreachable');
    expect(img.event.image.png).toBe(Buffer.from([137, 80, 78, 71]).toString('base64'));
    await c.next((m) => m.type === 'event' && m.event.kind === 'alarm');
    expect(dash.stats().live.clients).toBe(1);
  });

  it('refuses another origin (403), a wrong path (404), a Host it does not know (403); accepts no Origin', async () => {
    // Thrown at it: a page on another site, an origin with the right host but another port, a "null" origin,
    // an upgrade on /, one with a rebinding Host.
    const { dash, ws } = await start();
    expect(await refusal(ws, 'http://evil.example')).toBe(403);
    expect(await refusal(ws, `http://127.0.0.1:${dash.port + 1}`)).toBe(403);
    expect(await refusal(ws, 'null')).toBe(403);
    expect(await refusal(`ws://127.0.0.1:${dash.port}/`, `http://127.0.0.1:${dash.port}`)).toBe(404);
    const rebound = new WebSocket(ws, { headers: { host: 'evil.example' }, origin: 'http://evil.example' });
    rebound.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => rebound.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0)));
    rebound.terminate();
    expect(status).toBe(403);
    expect(dash.stats().live.refused.origin).toBe(3);
    const plain = client(ws);
    sockets.push(plain.ws);
    await plain.next((m) => m.type === 'snapshot');
  });

  it('refuses clients past the cap with 503', async () => {
    const { dash, ws } = await start({ maxClients: 2 });
    const origin = `http://127.0.0.1:${dash.port}`;
    const a = client(ws, origin);
    const b = client(ws, origin);
    sockets.push(a.ws, b.ws);
    await Promise.all([a.next((m) => m.type === 'snapshot'), b.next((m) => m.type === 'snapshot')]);
    expect(await refusal(ws, origin)).toBe(503);
    expect(dash.stats().live.refused.full).toBe(1);
    // A place freed is taken again.
    a.ws.close();
    await new Promise((resolve) => a.ws.once('close', resolve));
    for (let i = 0; dash.stats().live.clients !== 1; i++) {
      if (i > 200) throw new Error('the server never saw the close');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const c = client(ws, origin);
    sockets.push(c.ws);
    await c.next((m) => m.type === 'snapshot');
  });

  it('closes a client that sends more than maxPayload (1009)', async () => {
    // Thrown at it: a 64 KiB message from the page side.
    const { dash, ws } = await start();
    const c = client(ws, `http://127.0.0.1:${dash.port}`);
    sockets.push(c.ws);
    await c.opened;
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    c.ws.send('x'.repeat(65536));
    expect(await closed).toBe(1009);
  });

  it('drops a client that stops reading, and keeps serving one that reads', async () => {
    // Thrown at it: a client that upgrades, then never reads again, while 200 KiB images stream.
    const maxBufferedBytes = 512 * 1024;
    const { hub, dash, ws } = await start({ maxBufferedBytes });
    const origin = `http://127.0.0.1:${dash.port}`;
    const reader = client(ws, origin);
    sockets.push(reader.ws);
    await reader.next((m) => m.type === 'snapshot');
    const stalled = await stalledClient(dash.port);
    sockets.push({ close: () => stalled.destroy() });
    for (let i = 0; dash.stats().live.clients !== 2; i++) {
      if (i > 200) throw new Error('the stalled client was never accepted');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const png = randomBytes(200 * 1024);
    let sent = 0;
    // The kernel's socket buffers take a few MiB before the server's own buffer grows; 200 images are 53 MiB.
    while (dash.stats().live.droppedSlow === 0 && sent < 200) {
      hub.publish({ kind: 'image', device: 'cam-01', receivedAt: Date.now(), image: imageEvent('cam-01', png, `img-${sent}`) });
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (process.env.AKB_TEST_VERBOSE) console.log(`slow client dropped after ${sent} images`);
    expect(dash.stats().live.droppedSlow).toBe(1);
    expect(sent).toBeLessThan(200);
    // The reader got every image, the last one included, and is still connected.
    const last = `img-${sent - 1}`;
    await reader.next((m) => m.type === 'event' && m.event.kind === 'image' && m.event.image.name === last);
    expect(reader.messages.filter((m) => m.type === 'event')).toHaveLength(sent);
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);
    expect(dash.stats().live.clients).toBe(1);
  });

  it('puts the pixels of the newest snapshotImages images only into a snapshot', async () => {
    const hub = new FleetHub();
    for (let i = 0; i < 30; i++) {
      hub.publish({ kind: 'image', device: `cam-${String(i).padStart(2, '0')}`, receivedAt: 1000 + i, image: imageEvent(`cam-${i}`, new Uint8Array([i]), `img-${i}`, 1000 + i) });
    }
    const { dash, ws } = await start({ hub, snapshotImages: 24 });
    const c = client(ws, `http://127.0.0.1:${dash.port}`);
    sockets.push(c.ws);
    const snap = await c.next((m) => m.type === 'snapshot');
    if (snap.type !== 'snapshot') throw new Error('unreachable');
    const withPixels = snap.devices.filter((d) => d.image?.png !== undefined).map((d) => d.image!.name);
    expect(withPixels).toHaveLength(24);
    expect(new Set(withPixels)).toEqual(new Set(Array.from({ length: 24 }, (_, i) => `img-${i + 6}`)));
    expect(snap.devices.filter((d) => d.image !== null)).toHaveLength(30);
  });

  it('drops a client that does not answer pings, keeps one that does', async () => {
    // Thrown at it: a client that upgrades and then reads nothing, so never answers a ping.
    // 500 ms: the reader (in this process) answers each ping long before the next one.
    const { dash, ws } = await start({ pingIntervalMs: 500 });
    const reader = client(ws, `http://127.0.0.1:${dash.port}`);
    sockets.push(reader.ws);
    await reader.next((m) => m.type === 'snapshot');
    const stalled = await stalledClient(dash.port);
    sockets.push({ close: () => stalled.destroy() });
    await expect.poll(() => dash.stats().live.droppedSilent, { timeout: 10_000 }).toBe(1);
    expect(dash.stats().live.clients).toBe(1);
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);
  });
});
