/**
 * Small pieces of the dashboard's HTTP handling: the headers every answer carries, JSON and error
 * answers, and the Host check that keeps a DNS-rebinding page from reading the API through a browser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

/**
 * Every answer: no sniffing, no framing, no referrer; the page may load only its own scripts and styles,
 * images from itself or data: URLs (the thumbnails), and connect only to its own origin (the WebSocket).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType, 'content-length': String(bytes.length), ...extra });
  res.end(bytes);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), { 'cache-control': 'no-store' });
}

/** `{ "error": { "code", "message" } }` with the status. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify({ error: { code, message } }), { 'cache-control': 'no-store', ...extra });
}

/** A request the router refuses, with the status and the error code it answers. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The host name of a Host header, lower case, without the port or IPv6 brackets; undefined when malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header.length === 0 || header.length > 255) return undefined;
  try {
    const url = new URL(`http://${header}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Whether a request's Host header names this server by a name a DNS-rebinding page cannot take over: an
 * IP address, `localhost` (or a name under `.localhost`), the host the server was bound to, or a name in
 * `allowed` (`*` allows every name: only behind a proxy that checks it).
 */
export function hostAllowed(req: IncomingMessage, bindHost: string, allowed: readonly string[]): boolean {
  const name = hostName(req.headers.host);
  if (name === undefined) return false;
  if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === bindHost.toLowerCase()) return true;
  return allowed.some((a) => a === '*' || a.toLowerCase() === name);
}

/**
 * Whether a WebSocket upgrade's Origin may connect: none (not a browser: a browser always sends one), the
 * page's own origin (the origin's host and port equal the Host header), or an origin in `allowed`.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    const url = new URL(origin);
    const host = new URL(`http://${req.headers.host ?? ''}`).host;
    return (url.protocol === 'http:' || url.protocol === 'https:') && host.length > 0 && url.host === host;
  } catch {
    return false;
  }
}
