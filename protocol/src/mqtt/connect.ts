/**
 * Opening connections: `connectDevice` for a device (last will, birth), `connectMqtt` for anything else.
 * Both wait for the broker's CONNACK and fail with one AkbError that says what to check.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { AkbError } from '../errors.js';
import { AkbMqttClient, type DeviceConnectOptions, type MqttConnectOptions } from './client.js';
import { checkTlsPair, checkTlsUrl } from './tls.js';
import { errorText } from './util.js';

/** Connects a plain client (a cloud service, a tool): no status topic, no will. */
export async function connectMqtt(options: MqttConnectOptions): Promise<AkbMqttClient> {
  const raw = connect(options.url, baseOptions(options));
  const client = new AkbMqttClient(raw, { protocolVersion: options.protocolVersion ?? 4, noDelay: options.noDelay ?? true });
  await firstConnect(raw, options);
  await client.announce(false);
  return client;
}

/**
 * Connects a device: registers the retained "offline" status as the last will, waits for the broker,
 * publishes the retained "online" birth and returns the client.
 */
export async function connectDevice(options: DeviceConnectOptions): Promise<AkbMqttClient> {
  const mqttOptions = baseOptions({ ...options, clientId: options.clientId ?? options.deviceId });
  // The wrapper owns the will; it needs the session, so it is made before connecting.
  const raw = connect(options.url, { ...mqttOptions, manualConnect: true });
  const client = new AkbMqttClient(raw, { protocolVersion: options.protocolVersion ?? 4, device: options, noDelay: options.noDelay ?? true });
  raw.options.will = client.will();
  raw.connect();
  await firstConnect(raw, options);
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

function baseOptions(o: MqttConnectOptions): IClientOptions {
  const opts: IClientOptions = {
    ...o.mqtt,
    protocolVersion: o.protocolVersion ?? 4,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    reconnectPeriod: o.reconnectPeriodMs ?? 1000,
    clean: o.mqtt?.clean ?? true,
  };
  if (o.clientId !== undefined) opts.clientId = o.clientId;
  if (o.username !== undefined) opts.username = o.username;
  if (o.password !== undefined) opts.password = o.password;
  if (o.keepaliveSeconds !== undefined) opts.keepalive = o.keepaliveSeconds;
  if (o.tls !== undefined) {
    checkTlsUrl(o.url, 'TLS settings');
    checkTlsPair(o.tls.cert, o.tls.key, 'a client certificate', 'its key');
    if (o.tls.ca !== undefined) opts.ca = o.tls.ca;
    if (o.tls.cert !== undefined) opts.cert = o.tls.cert;
    if (o.tls.key !== undefined) opts.key = o.tls.key;
    opts.rejectUnauthorized = o.tls.rejectUnauthorized ?? true;
  }
  return opts;
}

/** Resolves on the first CONNACK; rejects with AkbError('MQTT_CONNECT_FAILED') on the first error or timeout. */
async function firstConnect(raw: MqttClient, o: MqttConnectOptions): Promise<void> {
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
      const onConnect = (): void => finish();
      const onError = (e: Error): void => finish(e);
      function finish(e?: Error): void {
        clearTimeout(timer);
        raw.off('connect', onConnect);
        raw.off('error', onError);
        if (e) reject(e);
        else resolve();
      }
      raw.on('connect', onConnect);
      raw.on('error', onError);
    });
  } catch (e) {
    await raw.endAsync(true);
    throw new AkbError('MQTT_CONNECT_FAILED', `cannot connect to ${redactUrl(o.url)}: ${errorText(e)}`, {
      cause: e,
      hint: 'check the broker URL, that the broker runs, and the username and password',
    });
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
