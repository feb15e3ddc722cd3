/**
 * Link drivers by name. The registry is an instance (no module state), so a test makes a fresh one and
 * a later driver (serial, sdr-udp) registers itself beside the built-in `emulated` and `mqtt`:
 *
 *   const links = createLinkRegistry().register('serial', (o: SerialLinkOptions) => SerialLink.open(o));
 *   const link = await links.open('serial', { path: '/dev/ttyUSB0', … });
 *
 * `linkOptionsFromConfig` turns the edge configuration's `link` section into a driver name and options.
 */
import { AkbError, type LinkConfig, type SerialModemConfig } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import { seededRandom } from '@akb/protocol';
import { Channel, constantSnr, type FadingSpec } from '../channel/index.js';
import type { LinkDriver } from './driver.js';
import { EmulatedLink, type EmulatedDelivery, type EmulatedLinkOptions } from './emulated.js';
import { MqttLink, type MqttLinkOptions } from './mqtt.js';
import type { LoraCodingRate, SpreadingFactor } from '../radio/airtime.js';
import { SerialLink, type SerialLinkOptions, type SerialModemOptions } from './serial/index.js';
import { SdrUdpLink, type SdrUdpLinkOptions } from './sdr-udp.js';

export type LinkFactory<O> = (options: O) => Promise<LinkDriver>;

/** The options each registered driver takes, by name. */
export type LinkOptionsMap = Record<string, unknown>;

export interface BuiltinLinks extends LinkOptionsMap {
  emulated: EmulatedLinkOptions;
  mqtt: MqttLinkOptions;
  serial: SerialLinkOptions;
  'sdr-udp': SdrUdpLinkOptions;
}

export class LinkRegistry<M extends LinkOptionsMap = LinkOptionsMap> {
  private readonly factories = new Map<string, LinkFactory<never>>();

  /** Adds a driver; throws AkbError('DUPLICATE_LINK_DRIVER') if the name is taken. */
  register<K extends string, O>(name: K, factory: LinkFactory<O>): LinkRegistry<M & Record<K, O>> {
    if (this.factories.has(name)) throw new AkbError('DUPLICATE_LINK_DRIVER', `a link driver "${name}" is already registered`);
    this.factories.set(name, factory);
    // The same instance, now known to take O under `name`.
    return this;
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  names(): string[] {
    return [...this.factories.keys()];
  }

  /** Opens a link; throws AkbError('UNKNOWN_LINK_DRIVER') naming the drivers there are. */
  async open<K extends keyof M & string>(name: K, options: M[K]): Promise<LinkDriver> {
    const factory = this.factories.get(name) as LinkFactory<M[K]> | undefined;
    if (factory === undefined) {
      throw new AkbError('UNKNOWN_LINK_DRIVER', `no link driver "${name}" in this build`, {
        hint: `available: ${this.names().join(', ') || 'none'}`,
      });
    }
    return factory(options);
  }
}

/** A registry with the drivers available now: `emulated`, `mqtt`, `serial` and `sdr-udp`. */
export function createLinkRegistry(): LinkRegistry<BuiltinLinks> {
  return new LinkRegistry()
    .register('emulated', (o: EmulatedLinkOptions) => EmulatedLink.open(o))
    .register('mqtt', (o: MqttLinkOptions) => MqttLink.open(o))
    .register('serial', (o: SerialLinkOptions) => SerialLink.open(o))
    .register('sdr-udp', (o: SdrUdpLinkOptions) => SdrUdpLink.open(o));
}

export interface LinkContext {
  deviceId: string;
  /** The edge's broker connection. */
  client: MqttTransport;
  /** In-process emulation: where received fragments go (default: published on the device's link/rx). */
  deliver?: EmulatedDelivery;
  /** Seed when the configuration has none. */
  seed?: number;
  /** Symbol rate of the emulated channel, symbols/s (Gauss-Markov steps; default 1e6). */
  symbolRateHz?: number;
}

export type ConfiguredLink =
  | { driver: 'emulated'; options: EmulatedLinkOptions }
  | { driver: 'mqtt'; options: MqttLinkOptions }
  | { driver: 'serial'; options: SerialLinkOptions }
  | { driver: 'sdr-udp'; options: SdrUdpLinkOptions };

/**
 * Driver and options for the edge configuration's `link` section. `emulated` in the `service` place is
 * the `mqtt` driver (the emulator service serves link/tx); `serial` takes the path, baud rate, modem (RN2483
 * LoRa settings or E32 air rate and packet size), MTU, duty cycle, retries and response timeout, and listens
 * for feedback on the broker; `sdr-udp` takes host, port, datagramBytes and sampleRateHz (cf32_le only).
 * A section's `tileBudgetMs` is not a driver option: the edge's policy reads it (see runtime-edge). Throws
 * AkbError('LINK_DRIVER_UNAVAILABLE') for ci16_le samples, and AkbError('INVALID_CHANNEL') for a channel the
 * emulator cannot make.
 */
export function linkOptionsFromConfig(config: LinkConfig, context: LinkContext): ConfiguredLink {
  const { deviceId, client } = context;
  if (config.driver === 'mqtt') return { driver: 'mqtt', options: { client, deviceId, mtu: config.mtu } };
  if (config.driver === 'sdr-udp') {
    if (config.sampleDtype !== 'cf32_le') {
      throw new AkbError('LINK_DRIVER_UNAVAILABLE', `the sdr-udp link sends cf32_le samples, not ${config.sampleDtype}`, { hint: 'set "sampleDtype": "cf32_le"' });
    }
    // localPort is for a receiver of the channel output: the gateway (SdrUdpGateway) binds its own
    const { host, port, datagramBytes, sampleRateHz } = config;
    return { driver: 'sdr-udp', options: { host, port, payloadBytes: datagramBytes, sampleRateHz, client, deviceId } };
  }
  if (config.driver === 'serial') return { driver: 'serial', options: serialOptions(config, context) };
  if (config.where === 'service') return { driver: 'mqtt', options: { client, deviceId } };
  const fading = fadingFromConfig(config.channel, config.dopplerHz, context.symbolRateHz ?? 1e6);
  if (config.channel === 'gilbert-elliott' && config.lossModel === undefined) {
    throw new AkbError('INVALID_CHANNEL', 'the gilbert-elliott channel needs a lossModel', { hint: 'add "lossModel": {"p": …, "r": …}' });
  }
  const channel = new Channel(
    { snr: constantSnr(config.snrDb), fading, ...(config.lossModel ? { loss: config.lossModel } : {}) },
    seededRandom(config.seed ?? context.seed ?? 1),
  );
  const deliver = context.deliver ?? { kind: 'mqtt', client };
  return { driver: 'emulated', options: { deviceId, channel, deliver } };
}

function serialOptions(config: Extract<LinkConfig, { driver: 'serial' }>, { client, deviceId }: LinkContext): SerialLinkOptions {
  const { path, baudRate, modem, mtu, dutyCycle, maxRetries, responseTimeoutMs } = config;
  const options: SerialLinkOptions = { path, modem: modemOptions(modem), mtu, dutyCycle, client, deviceId };
  if (baudRate !== undefined) options.baudRate = baudRate;
  if (maxRetries !== undefined) options.maxRetries = maxRetries;
  if (responseTimeoutMs !== undefined) options.responseTimeoutMs = responseTimeoutMs;
  return options;
}

function modemOptions(modem: SerialModemConfig): SerialModemOptions {
  if (modem.kind === 'e32') return modem;
  // The schema bounds these to the values LoraParams names.
  return { kind: 'rn2483', sf: modem.sf as SpreadingFactor, bwKhz: modem.bwKhz, cr: modem.cr as LoraCodingRate };
}

function fadingFromConfig(model: string, dopplerHz: number | undefined, symbolRateHz: number): FadingSpec {
  switch (model) {
    case 'awgn':
    case 'gilbert-elliott':
      return { kind: 'none' };
    case 'rayleigh':
      return dopplerHz !== undefined && dopplerHz > 0 ? { kind: 'gauss-markov', dopplerHz, symbolRateHz } : { kind: 'rayleigh' };
    default:
      throw new AkbError('INVALID_CHANNEL', `the emulated link cannot make a "${model}" channel`, {
        hint: model === 'rician' ? 'the edge configuration carries no Rician K factor yet: use rayleigh or awgn' : 'use awgn, rayleigh or gilbert-elliott',
      });
  }
}
