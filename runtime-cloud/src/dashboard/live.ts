/**
 * The dashboard's WebSocket (`/ws`): on connect a snapshot of the fleet, then every FleetHub event as it
 * happens, one JSON text message each (views.ts: LiveMessage). Each event is serialised once for all
 * clients.
 *
 * Bounded: at most `maxClients` connections (more are refused with 503 before the upgrade); a client
 * whose unsent data would pass `maxBufferedBytes` is dropped (closed at once), not buffered for ever, so one
 * slow browser cannot grow the cloud's memory; what a page sends is ignored and may be at most
 * `maxPayload` bytes (a longer message closes the connection, 1009); a client that does not answer a ping
 * within `pingIntervalMs` is dropped. Upgrades from another origin are refused with 403 (http-util.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FleetEvent, FleetHub } from '../telemetry/hub.js';
import { originAllowed } from './http-util.js';
import { deviceViews, wireEvent, type LiveMessage, type ProfileBook } from './views.js';

export interface LiveOptions {
  /** Most WebSocket clients at once (default 64). */
  readonly maxClients?: number;
  /** Unsent bytes a client may hold before it is dropped (default 8 MiB). */
  readonly maxBufferedBytes?: number;
  /** Largest message a client may send (default 1 KiB); the page sends none. */
  readonly maxPayload?: number;
  /** How often clients are pinged; one that missed the previous ping is dropped (default 30 s; 0: never). */
  readonly pingIntervalMs?: number;
  /** Origins accepted besides the page's own (e.g. the public origin behind a reverse proxy). */
  readonly allowedOrigins?: readonly string[];
  /** How many images of a snapshot carry their pixels (the newest; default 24). */
  readonly snapshotImages?: number;
}

export interface LiveStats {
  /** Connected now. */
  clients: number;
  accepted: number;
  refused: { origin: number; full: number };
  /** Dropped for holding more than maxBufferedBytes unsent. */
  droppedSlow: number;
  /** Dropped for missing a ping. */
  droppedSilent: number;
  messagesSent: number;
  bytesSent: number;
}

interface Client {
  readonly ws: WebSocket;
  alive: boolean;
}

export class LiveFeed {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: () => void;
  private readonly ping: NodeJS.Timeout | undefined;
  private readonly maxClients: number;
  private readonly maxBuffered: number;
  readonly stats: LiveStats = { clients: 0, accepted: 0, refused: { origin: 0, full: 0 }, droppedSlow: 0, droppedSilent: 0, messagesSent: 0, bytesSent: 0 };

  constructor(
    private readonly hub: FleetHub,
    private readonly profiles: ProfileBook,
    private readonly options: LiveOptions = {},
  ) {
    this.maxClients = options.maxClients ?? 64;
    this.maxBuffered = options.maxBufferedBytes ?? 8 * 2 ** 20;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024, perMessageDeflate: false, clientTracking: false });
    this.unsubscribe = hub.events.on((e) => this.broadcast(e));
    const every = options.pingIntervalMs ?? 30_000;
    if (every > 0) {
      this.ping = setInterval(() => this.pingAll(), every);
      this.ping.unref();
    }
  }

  /** Takes over an upgrade request for /ws (the caller checked the path and the Host header). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!originAllowed(req, this.options.allowedOrigins ?? [])) {
      this.stats.refused.origin++;
      return refuse(socket, 403, 'origin not allowed');
    }
    if (this.clients.size >= this.maxClients) {
      this.stats.refused.full++;
      return refuse(socket, 503, `at most ${this.maxClients} dashboard clients`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    const client: Client = { ws, alive: true };
    this.clients.add(client);
    this.stats.accepted++;
    this.stats.clients = this.clients.size;
    ws.on('pong', () => (client.alive = true));
    ws.on('message', () => undefined);
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.clients.delete(client);
      this.stats.clients = this.clients.size;
    });
    const snapshot: LiveMessage = {
      type: 'snapshot',
      sentAt: Date.now(),
      devices: deviceViews(this.hub, this.profiles, this.options.snapshotImages ?? 24),
      jobs: this.hub.listJobs(),
    };
    this.deliver(client, JSON.stringify(snapshot));
  }

  private broadcast(event: FleetEvent): void {
    if (this.clients.size === 0) return;
    const at = Date.now();
    const message: LiveMessage = { type: 'event', sentAt: at, at, event: wireEvent(event) };
    const data = JSON.stringify(message);
    for (const client of this.clients) this.deliver(client, data);
  }

  private deliver(client: Client, data: string): void {
    const { ws } = client;
    if (ws.readyState !== ws.OPEN) return;
    // One message always fits an empty buffer (a snapshot of a large fleet may be longer than the bound).
    if (ws.bufferedAmount > 0 && ws.bufferedAmount + data.length > this.maxBuffered) {
      this.stats.droppedSlow++;
      this.drop(client);
      return;
    }
    ws.send(data);
    this.stats.messagesSent++;
    this.stats.bytesSent += data.length;
  }

  private drop(client: Client): void {
    this.clients.delete(client);
    this.stats.clients = this.clients.size;
    client.ws.terminate();
  }

  private pingAll(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        this.stats.droppedSilent++;
        this.drop(client);
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }

  /** Stops listening to the hub and closes every client (1001, going away). */
  close(): void {
    this.unsubscribe();
    if (this.ping) clearInterval(this.ping);
    for (const client of this.clients) client.ws.close(1001, 'akb-cloud is stopping');
    // A client that does not answer the close handshake is cut after a second.
    const clients = [...this.clients];
    setTimeout(() => clients.forEach((c) => c.ws.terminate()), 1000).unref();
    this.clients.clear();
    this.stats.clients = 0;
    this.wss.close();
  }
}

/** Answers an upgrade request with an HTTP error and closes the socket. */
export function refuse(socket: Duplex, status: number, message: string): void {
  const reason = status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Request';
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  socket.on('error', () => undefined);
}
