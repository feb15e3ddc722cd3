/**
 * The edge's link, from the configuration's `link` section (or the `--link mqtt|emulated` shorthand),
 * opened through the link registry (`createLinkRegistry()` and `linkOptionsFromConfig`), so every driver the
 * registry has is available to the daemon: emulated, mqtt, serial, sdr-udp. Alongside it, what the policy's
 * link ceiling needs: the section's `tileBudgetMs` and, for sdr-udp, the link symbols one burst takes.
 */
import type { LinkConfig } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import { burstLayout, burstSamples, createLinkRegistry, linkOptionsFromConfig, samplesPerDatagram, type LinkDriver, type LinkRegistry, type BuiltinLinks } from '@akb/link';

/** `mqtt`: frames on link/tx for a gateway or the emulator service; `emulated`: an AWGN channel in process; else a configuration section. */
export type EdgeLinkSpec = 'mqtt' | 'emulated' | LinkConfig;

export interface OpenLinkOptions {
  deviceId: string;
  /** The emulated shorthand's SNR, dB (default 10). */
  channelSnrDb?: number;
  /** Seed of an emulated channel whose section has none (default 1). */
  seed?: number;
  /** Overrides the section's MTU (the `--mtu` flag). */
  mtu?: number;
  /** Overrides the section's tileBudgetMs. */
  tileBudgetMs?: number;
  /** Default: createLinkRegistry(). */
  registry?: LinkRegistry<BuiltinLinks>;
}

export interface OpenedLink {
  link: LinkDriver;
  /** The section's `link` as used (the shorthand expanded). */
  config: LinkConfig;
  /** Time a tile may take on a rated link, ms (undefined: the pipeline's default). */
  tileBudgetMs: number | undefined;
  /** sdr-udp: samples on the wire for a fragment of n data symbols (burst, guard, whole datagrams). */
  burstSymbols?: (dataSymbols: number) => number;
}

/** The configuration section the shorthand stands for. */
export function linkSection(spec: EdgeLinkSpec | undefined, o: Pick<OpenLinkOptions, 'channelSnrDb' | 'seed'> = {}): LinkConfig {
  if (spec === undefined || spec === 'mqtt') return { driver: 'mqtt', mtu: 1024 };
  if (spec === 'emulated') return { driver: 'emulated', where: 'in-process', channel: 'awgn', snrDb: o.channelSnrDb ?? 10, seed: o.seed ?? 1 };
  return spec;
}

export async function openEdgeLink(client: MqttTransport, spec: EdgeLinkSpec | undefined, o: OpenLinkOptions): Promise<OpenedLink> {
  const config = linkSection(spec, o);
  const configured = linkOptionsFromConfig(config, { deviceId: o.deviceId, client, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  if (o.mtu !== undefined) configured.options.mtu = o.mtu;
  const registry = o.registry ?? createLinkRegistry();
  const link = await registry.open(configured.driver, configured.options);
  const section = 'tileBudgetMs' in config ? config.tileBudgetMs : undefined;
  const tileBudgetMs = o.tileBudgetMs ?? section;
  if (config.driver !== 'sdr-udp') return { link, config, tileBudgetMs };
  const layout = burstLayout({});
  const perDatagram = samplesPerDatagram({ payloadBytes: config.datagramBytes });
  // The driver pads each burst with two datagrams of zeros and sends whole datagrams.
  const burstSymbols = (n: number): number => Math.ceil((burstSamples(layout, n) + 2 * perDatagram) / perDatagram) * perDatagram;
  return { link, config, tileBudgetMs, burstSymbols };
}
