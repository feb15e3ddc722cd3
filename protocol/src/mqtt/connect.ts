/**
 * Opening connections: `connectDevice` for a device (last will, birth), `connectMqtt` for anything else.
 * Both wait for the broker's CONNACK and fail with one AkbError that says what to check. Both take one
 * broker URL or several (brokers.ts: the order they are tried in, on the first connection and after a
 * lost one).
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { assertPortableDeviceId } from '../device-id.js';
import { AkbError } from '../errors.js';
import { AkbMqttClient, type DeviceConnectOptions, type MqttConnectOptions } from './client.js';
import { brokerServers, describeBrokerUrls, followServerNames, parseBrokerUrls } from './brokers.js';
import { checkTlsPair, checkTlsUrl } from './tls.js';
import { errorText } from './util.js';

/** Connects a plain client (a cloud service, a tool): no status topic, no will. */
export async function connectMqtt(options: MqttConnectOptions): Promise<AkbMqttClient> {
  const urls = parseBrokerUrls(options.url);
  const raw = connect(urls[0]!, baseOptions(options, urls));
  followServerNames(raw, urls, callerServerName(options));
  const client = new AkbMqttClient(raw, { protocolVersion: options.protocolVersion ?? 4, noDelay: options.noDelay ?? true, ...(options.hold !== undefined ? { hold: options.hold } : {}) });
  await firstConnect(raw, options, urls);
  await client.announce(false);
  return client;
}

/**
 * Connects a device: registers the retained "offline" status as the last will, waits for the broker,
 * publishes the retained "online" birth and returns the client. A device id some broker would refuse (a
 * ".": NATS) is refused first, AkbError('BAD_DEVICE_ID'), whatever the broker (device-id.ts).
 */
export async function connectDevice(options: DeviceConnectOptions): Promise<AkbMqttClient> {
  assertPortableDeviceId(options.deviceId);
  const urls = parseBrokerUrls(options.url);
  const mqttOptions = baseOptions({ ...options, clientId: options.clientId ?? options.deviceId }, urls);
  // The wrapper owns the will; it needs the session, so it is made before connecting.
  const raw = connect(urls[0]!, { ...mqttOptions, manualConnect: true });
  followServerNames(raw, urls, callerServerName(options));
  const client = new AkbMqttClient(raw, { protocolVersion: options.protocolVersion ?? 4, device: options, noDelay: options.noDelay ?? true, ...(options.hold !== undefined ? { hold: options.hold } : {}) });
  raw.options.will = client.will();
  raw.connect();
  await firstConnect(raw, options, urls);
  try {
    await client.announce(false);
  } catch (e) {
    await raw.endAsync(true);
    throw new AkbError('MQTT_BIRTH_FAILED', `could not publish the birth of ${options.deviceId}: ${errorText(e)}`, {
      cause: e,
      hint: 'check that the broker lets this user publish under its own device prefix',
    });
  }
  return client;
}

/**
 * The reconnect period while the first connection is made. A list with reconnecting off (period 0) still
 * tries each URL once, LIST_TRY_PERIOD_MS apart; firstConnect turns reconnecting off once connected.
 */
const LIST_TRY_PERIOD_MS = 100;
function firstPeriodMs(o: MqttConnectOptions, urls: readonly string[]): number {
  const period = o.reconnectPeriodMs ?? 1000;
  return period === 0 && urls.length > 1 ? LIST_TRY_PERIOD_MS : period;
}

/** The TLS server name the caller set through the raw mqtt.js options, if any. */
function callerServerName(o: MqttConnectOptions): string | undefined {
  return o.mqtt?.servername;
}

function baseOptions(o: MqttConnectOptions, urls: readonly string[]): IClientOptions {
  const opts: IClientOptions = {
    ...o.mqtt,
    protocolVersion: o.protocolVersion ?? 4,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    reconnectPeriod: firstPeriodMs(o, urls),
    clean: o.mqtt?.clean ?? true,
  };
  if (o.clientId !== undefined) opts.clientId = o.clientId;
  if (o.username !== undefined) opts.username = o.username;
  if (o.password !== undefined) opts.password = o.password;
  if (o.keepaliveSeconds !== undefined) opts.keepalive = o.keepaliveSeconds;
  // Several URLs: mqtt.js moves through them (brokers.ts says in what order).
  if (urls.length > 1) opts.servers = brokerServers(urls);
  if (o.tls !== undefined) {
    for (const url of urls) checkTlsUrl(url, 'TLS settings');
    checkTlsPair(o.tls.cert, o.tls.key, 'a client certificate', 'its key');
    if (o.tls.ca !== undefined) opts.ca = o.tls.ca;
    if (o.tls.cert !== undefined) opts.cert = o.tls.cert;
    if (o.tls.key !== undefined) opts.key = o.tls.key;
    opts.rejectUnauthorized = o.tls.rejectUnauthorized ?? true;
  }
  return opts;
}

/**
 * Resolves on the first CONNACK. One URL: rejects with AkbError('MQTT_CONNECT_FAILED') on the first error
 * or after connectTimeoutMs. Several: mqtt.js tries them in order, reconnectPeriodMs apart; it rejects once
 * each has failed once (naming every failure), or when the attempts' time is up (connectTimeoutMs each and
 * the periods between). With reconnecting off (period 0) each URL is still tried once, 100 ms apart, and
 * reconnecting is off from the first CONNACK on.
 */
async function firstConnect(raw: MqttClient, o: MqttConnectOptions, urls: readonly string[]): Promise<void> {
  const perAttemptMs = o.connectTimeoutMs ?? 10_000;
  const periodMs = firstPeriodMs(o, urls);
  const attempts = periodMs > 0 ? urls.length : 1;
  const timeoutMs = attempts * perAttemptMs + (attempts - 1) * periodMs;
  try {
    await new Promise<void>((resolve, reject) => {
      const failures: string[] = [];
      let lastError: string | undefined;
      const timer = setTimeout(() => finish(new Error(`no CONNACK within ${timeoutMs} ms${failures.length > 0 ? ` (${failures.join('; ')})` : ''}`)), timeoutMs);
      const onConnect = (): void => finish();
      const onError = (e: Error): void => {
        if (attempts === 1) finish(e);
        else lastError = errorText(e);
      };
      // Every failed attempt ends in 'close'; the attempts go through the URLs in order.
      const onClose = (): void => {
        if (attempts === 1) return;
        failures.push(`${describeBrokerUrls([urls[failures.length % urls.length]!])}: ${lastError ?? 'connection closed'}`);
        lastError = undefined;
        if (failures.length >= attempts) finish(new Error(failures.join('; ')));
      };
      function finish(e?: Error): void {
        clearTimeout(timer);
        if (e === undefined && periodMs !== (o.reconnectPeriodMs ?? 1000)) raw.options.reconnectPeriod = o.reconnectPeriodMs ?? 1000;
        raw.off('connect', onConnect);
        raw.off('error', onError);
        raw.off('close', onClose);
        if (e) reject(e);
        else resolve();
      }
      raw.on('connect', onConnect);
      raw.on('error', onError);
      raw.on('close', onClose);
    });
  } catch (e) {
    await raw.endAsync(true);
    const what = urls.length === 1 ? describeBrokerUrls(urls) : `any of ${describeBrokerUrls(urls)}`;
    throw new AkbError('MQTT_CONNECT_FAILED', `cannot connect to ${what}: ${errorText(e)}`, {
      cause: e,
      hint: 'check the broker URL, that the broker runs, the username and password, and with TLS the CA and the client certificate',
    });
  }
}
