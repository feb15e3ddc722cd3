/**
 * Several broker addresses for one client: `--broker mqtt://a:1883,mqtt://b:1883,mqtt://c:1883` (every
 * program that takes `--broker` hands the string to connectMqtt / connectDevice, which parse it here, so
 * all of them accept a list the same way; a program may call `parseBrokerUrls` itself to refuse a bad list
 * before it connects).
 *
 * What a list means (mqtt.js's `servers` option underneath):
 * - the first connection tries the URLs in order, one attempt each, `reconnectPeriodMs` apart (100 ms
 *   when reconnecting is off, which then holds from the first CONNACK on); it fails (AkbError
 *   MQTT_CONNECT_FAILED, naming each URL's failure) once every URL has failed once;
 * - after a lost connection, each reconnect attempt goes to the URL after the one last tried, wrapping
 *   round to the first: connected to b, losing b tries c, then a, then b again, `reconnectPeriodMs` apart.
 *   A refused connection fails at once; a broker that accepts TCP but never answers costs
 *   `connectTimeoutMs`; a silent broker is noticed after 1.5 × keepalive.
 * - What survives the move depends on the brokers, not on the client: see runtime-cloud/README.md
 *   ("Failover and clusters"). mqtt.js re-sends every QoS 1 publish not yet acknowledged on the new
 *   connection, so a publisher loses nothing (a message may arrive twice).
 *
 * Limits: at most MAX_BROKER_URLS URLs, each at most MAX_BROKER_URL_LENGTH characters. In a list, user
 * names and passwords go in the client options (`--username`, `--password-env`), not in the URLs, and
 * websocket URLs share one path: mqtt.js takes both from the first URL only, so a list that differs is refused
 * rather than half used.
 */
import type { MqttClient } from 'mqtt';
import { AkbError } from '../errors.js';

export const MAX_BROKER_URLS = 16;
export const MAX_BROKER_URL_LENGTH = 1024;

/** The URL schemes mqtt.js connects with (tcp/ssl/tls are its aliases of mqtt/mqtts). */
export type BrokerProtocol = 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'tcp' | 'ssl' | 'tls';
const PROTOCOLS: readonly BrokerProtocol[] = ['mqtt', 'mqtts', 'ws', 'wss', 'tcp', 'ssl', 'tls'];
const DEFAULT_PORTS: Readonly<Record<BrokerProtocol, number>> = { mqtt: 1883, tcp: 1883, mqtts: 8883, ssl: 8883, tls: 8883, ws: 80, wss: 443 };

/** One entry of mqtt.js's `servers` option. */
export interface BrokerServer {
  host: string;
  port: number;
  /** `tls://` is given to mqtt.js as its alias `ssl`. */
  protocol: Exclude<BrokerProtocol, 'tls'>;
}

function badUrl(message: string): AkbError {
  return new AkbError('BAD_BROKER_URL', message, {
    hint: 'pass one broker URL or several, comma-separated: mqtt://host-a:1883,mqtt://host-b:1883',
    exitCode: 2,
  });
}

/** `url` without its password (and user), for messages and logs. */
export function redactBrokerUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** The URLs as one line for messages: redacted, comma-separated. */
export function describeBrokerUrls(urls: readonly string[]): string {
  return urls.map(redactBrokerUrl).join(',');
}

/**
 * The broker URLs of `spec`: one URL, a comma-separated list, or an array of either. Each URL is
 * trimmed and checked (scheme, host, port); throws AkbError('BAD_BROKER_URL', exit 2) naming the first
 * bad item. The text is bounded before it is split.
 */
export function parseBrokerUrls(spec: string | readonly string[]): string[] {
  const parts = typeof spec === 'string' ? [spec] : [...spec];
  const total = parts.reduce((n, p) => n + p.length + 1, 0);
  if (total > MAX_BROKER_URLS * (MAX_BROKER_URL_LENGTH + 1)) {
    throw badUrl(`the broker list is ${total} characters long, more than ${MAX_BROKER_URLS} URLs of ${MAX_BROKER_URL_LENGTH} may be`);
  }
  const items = parts.flatMap((p) => p.split(',')).map((s) => s.trim());
  if (items.length === 1 && items[0] === '') throw badUrl('no broker URL given');
  if (items.length > MAX_BROKER_URLS) throw badUrl(`${items.length} broker URLs given; at most ${MAX_BROKER_URLS} are taken`);
  const urls = items.map((item, i) => {
    if (item === '') throw badUrl(`broker URL ${i + 1} of ${items.length} is empty (two commas in a row?)`);
    checkOne(item);
    return item;
  });
  if (urls.length > 1) checkList(urls);
  return urls;
}

function checkOne(url: string): URL {
  const shown = JSON.stringify(redactBrokerUrl(url).slice(0, 80));
  if (url.length > MAX_BROKER_URL_LENGTH) throw badUrl(`broker URL ${shown}… is longer than ${MAX_BROKER_URL_LENGTH} characters`);
  if (/\s/.test(url)) throw badUrl(`broker URL ${shown} contains white space`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(`${shown} is not a URL`);
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(scheme)) {
    throw badUrl(`broker URL ${shown}: the scheme must be one of ${PROTOCOLS.map((p) => `${p}://`).join(', ')}`);
  }
  if (parsed.hostname === '') throw badUrl(`broker URL ${shown} names no host`);
  return parsed;
}

/** What mqtt.js would silently take from the first URL only: refused when the URLs differ in it. */
function checkList(urls: readonly string[]): void {
  const parsed = urls.map((u) => new URL(u));
  if (parsed.some((p) => p.username !== '' || p.password !== '')) {
    throw badUrl('a list of broker URLs carries no user names or passwords (mqtt.js would use the first URL\'s for all): pass --username and the password option instead');
  }
  const wsPaths = new Set(parsed.filter((p) => p.protocol.startsWith('ws')).map((p) => p.pathname + p.search));
  if (wsPaths.size > 1) throw badUrl(`the websocket URLs of a broker list must share one path (mqtt.js uses the first URL's); got ${[...wsPaths].join(', ')}`);
}

/** The `servers` entries for mqtt.js, in the order given; default ports filled in (1883, 8883, 80, 443). */
export function brokerServers(urls: readonly string[]): BrokerServer[] {
  return urls.map((url) => {
    const p = checkOne(url);
    const protocol = p.protocol.replace(/:$/, '').toLowerCase() as BrokerProtocol;
    // URL keeps IPv6 literals in brackets; a socket wants the bare address.
    const host = p.hostname.replace(/^\[(.*)\]$/, '$1');
    return { host, port: p.port === '' ? DEFAULT_PORTS[protocol] : Number(p.port), protocol: protocol === 'tls' ? 'ssl' : protocol };
  });
}

/**
 * With TLS and several URLs, mqtt.js sets the TLS server name (SNI and the host name the broker's
 * certificate must carry) from the first host it connects to and keeps it for every later one; this
 * clears it before each reconnect so each broker is checked against its own name. A server name the
 * caller set (`mqtt.servername`, passed here as `callerServerName`) is kept.
 */
export function followServerNames(raw: MqttClient, urls: readonly string[], callerServerName: string | undefined): void {
  if (urls.length < 2 || callerServerName !== undefined) return;
  // mqtt.js may have built the first connection (and set the name) already: only reconnects need this.
  const options = raw.options as { servername?: string };
  raw.on('reconnect', () => {
    delete options.servername;
  });
}
