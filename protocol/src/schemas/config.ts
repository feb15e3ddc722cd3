/**
 * Configuration files of the edge daemon (`akb-edge`) and the cloud service (`akb-cloud`). Every field
 * but the device id has a default, so `{"deviceId": "cam-01"}` is a complete edge configuration.
 * Secrets are never written inline: a credential is a reference to an environment variable or a file.
 */
import { z } from 'zod';
import { ChannelModel, DeviceId, PositiveInt, ProfileId, SchemaRef } from './common.js';

/** A file path in a configuration file; relative paths are resolved against the configuration file's folder. */
export const ConfigPath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.includes('\0'), 'path may not contain NUL')
  .describe('File or folder path; a relative one is resolved against the configuration file’s folder.');

export const SecretRef = z
  .union([
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/).describe('Name of the environment variable holding the secret.') }),
    z.strictObject({ file: ConfigPath.describe('File whose content (trailing newline removed) is the secret.') }),
  ], { error: 'a secret reference: {"env": NAME} or {"file": path}, never the secret itself' })
  .describe('Where a secret is found: {"env": NAME} or {"file": path}; never the secret itself.');
export type SecretRef = z.infer<typeof SecretRef>;

export const BrokerConfig = z
  .strictObject({
    url: z
      .string()
      .max(1024)
      .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, 'broker url: mqtt://, mqtts://, ws:// or wss://')
      .default('mqtt://127.0.0.1:1883')
      .describe('Broker URL: mqtt://host:port, mqtts:// (TLS), ws:// or wss:// (websocket).'),
    protocolVersion: z
      .union([z.literal(4), z.literal(5)])
      .default(4)
      .describe('MQTT protocol level: 4 (3.1.1, every broker, aedes included) or 5 (response topic, correlation data, expiry).'),
    clientId: z.string().min(1).max(64).optional().describe('MQTT client id; the device id (edge) or "akb-cloud" when absent.'),
    username: z.string().max(256).optional().describe('User name; Mosquitto ACLs may match it as %u.'),
    password: SecretRef.optional().describe('Password, by reference.'),
    tls: z
      .strictObject({
        ca: ConfigPath.optional().describe('CA certificate (PEM) to trust.'),
        cert: ConfigPath.optional().describe('Client certificate (PEM).'),
        key: SecretRef.optional().describe('Client private key (PEM), by reference.'),
        rejectUnauthorized: z.boolean().default(true).describe('Refuse brokers whose certificate does not verify.'),
      })
      .optional()
      .describe('TLS settings for mqtts:// and wss://.'),
    keepaliveSeconds: PositiveInt.max(65535).default(30).describe('MQTT keepalive, seconds.'),
    reconnectPeriodMs: z.number().int().min(0).max(600_000).default(1000).describe('Delay between reconnects, ms; 0 disables reconnecting.'),
  })
  .describe('How to reach the MQTT broker.');
export type BrokerConfig = z.infer<typeof BrokerConfig>;

/** The duty-cycle regions link/src/radio/airtime.ts knows (DUTY_CYCLE), each a share of an hour; a link test holds the two lists equal. */
export const DUTY_CYCLE_REGIONS = ['none', 'eu868-g', 'eu868-g1', 'eu868-g2', 'eu868-g3', 'us915'] as const;

const DutyCycleConfig = z
  .union([z.number().gt(0).max(1), z.enum(DUTY_CYCLE_REGIONS)], {
    error: `a duty cycle: a share of the hour in (0, 1], or one of ${DUTY_CYCLE_REGIONS.join(', ')}`,
  })
  .default('none')
  .describe(`Share of an hour the transmitter may be on, in (0, 1], or a region: ${DUTY_CYCLE_REGIONS.join(', ')} (eu868-g: 0.01; none: no limit).`);

export const SerialModemConfig = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('rn2483').describe('Microchip RN2483 LoRa modem, driven by its AT commands (radio tx).'),
      sf: z.number().int().min(7).max(12).describe('LoRa spreading factor, 7-12.'),
      bwKhz: z.union([z.literal(125), z.literal(250), z.literal(500)]).default(125).describe('LoRa bandwidth, kHz: 125, 250 or 500.'),
      cr: z.number().int().min(1).max(4).default(1).describe('LoRa coding rate 4/(4+cr), cr 1-4.'),
    }),
    z.strictObject({
      kind: z.literal('e32').describe('Ebyte E32-style module in transparent mode: bytes in, packets on air.'),
      airBitsPerSecond: PositiveInt.max(1_000_000).describe('The module’s air data rate, bits/s (as configured on it).'),
      packetBytes: z.number().int().min(16).max(255).default(58).describe('Largest packet on air, bytes (E32: 58).'),
    }),
  ], { error: 'a modem: {"kind": "rn2483", "sf": 7-12, …} or {"kind": "e32", "airBitsPerSecond": …}' })
  .describe('The radio modem and its radio settings.');
export type SerialModemConfig = z.infer<typeof SerialModemConfig>;

const TileBudgetMs = z
  .number()
  .int()
  .min(0)
  .max(3_600_000)
  .default(1000)
  .describe('Time one tile’s fragments may take on the link, ms: on a link that declares its rate the policy picks no action whose frame takes longer (when none fits, the fewest channel uses); 0: no ceiling.');

export const LinkConfig = z
  .discriminatedUnion('driver', [
    z.strictObject({
      driver: z.literal('emulated').describe('A channel model: in process, or the emulator service over MQTT.'),
      where: z.enum(['in-process', 'service']).default('in-process').describe('Run the channel in this process or in the emulator service.'),
      channel: ChannelModel.default('awgn'),
      snrDb: z.number().min(-50).max(100).default(10).describe('Channel SNR, dB.'),
      seed: z.number().int().min(0).max(2 ** 32 - 1).optional().describe('Noise seed, for repeatable runs.'),
      dopplerHz: z.number().min(0).max(10_000).optional().describe('Doppler frequency for time-correlated fading, Hz.'),
      lossModel: z
        .strictObject({
          p: z.number().min(0).max(1).describe('Good to bad transition probability.'),
          r: z.number().min(0).max(1).describe('Bad to good transition probability.'),
          lossGood: z.number().min(0).max(1).default(0).describe('Loss probability in the good state (netem 1-k).'),
          lossBad: z.number().min(0).max(1).default(1).describe('Loss probability in the bad state (netem 1-h).'),
        })
        .optional()
        .describe('Gilbert-Elliott fragment loss, as netem gemodel p r 1-h 1-k.'),
    }),
    z.strictObject({
      driver: z.literal('mqtt').describe('Frames go to a radio or SDR gateway over MQTT (link/tx and link/rx topics).'),
      mtu: PositiveInt.min(64).max(1 << 20).default(1024).describe('Largest frame (fragment), bytes, header included.'),
    }),
    z.strictObject({
      driver: z.literal('serial').describe('A radio modem on a UART: an RN2483 (LoRa AT commands) or an E32 (transparent mode). Symbols travel as int8.'),
      path: ConfigPath.describe('Serial device, e.g. /dev/ttyUSB0.'),
      baudRate: PositiveInt.max(16_000_000).optional().describe('UART rate; default 57600 for an RN2483, 9600 for an E32.'),
      modem: SerialModemConfig,
      mtu: PositiveInt.min(64).max(65_536).default(1024).describe('Largest v1 fragment, bytes, header included; each fragment is cut into modem packets.'),
      dutyCycle: DutyCycleConfig,
      maxRetries: z.number().int().min(0).max(100).optional().describe('Retries of a packet after radio_err or a modem reset (default 3).'),
      responseTimeoutMs: PositiveInt.min(10).max(600_000).optional().describe('How long to wait for the modem’s answer beyond the time on air, ms (default 1000).'),
      tileBudgetMs: TileBudgetMs,
    }),
    z.strictObject({
      driver: z.literal('sdr-udp').describe('IQ samples over UDP to and from a GNU Radio flowgraph.'),
      host: z.string().min(1).max(255).default('127.0.0.1').describe('Host of the flowgraph’s UDP source.'),
      port: PositiveInt.max(65535).describe('UDP port the flowgraph listens on.'),
      localPort: z.number().int().min(0).max(65535).default(0).describe('UDP port to receive the channel output on; 0 picks one.'),
      datagramBytes: PositiveInt.min(64).max(65507).default(1472).describe('UDP payload size, bytes.'),
      sampleDtype: z.enum(['cf32_le', 'ci16_le']).default('cf32_le').describe('IQ sample format (SigMF names).'),
      sampleRateHz: z.number().min(1e3).max(1e8).default(1e6).describe('Samples per second the datagrams are paced at, as the flowgraph runs.'),
      tileBudgetMs: TileBudgetMs,
    }),
  ])
  .describe('Link driver and its settings.');
export type LinkConfig = z.infer<typeof LinkConfig>;

const LogLevel = z.enum(['error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Log level.');

export const EdgeConfig = z
  .strictObject({
    $schema: SchemaRef,
    v: z.literal(1).default(1).describe('Configuration format version.'),
    deviceId: DeviceId,
    profile: ProfileId.optional().describe('Device profile id; detected from the board when absent.'),
    broker: BrokerConfig.prefault({}),
    link: LinkConfig.prefault({ driver: 'emulated' }),
    paths: z
      .strictObject({
        root: ConfigPath.default('/opt/akb').describe('Install root (the slots live under it).'),
        data: ConfigPath.default('/var/lib/akb').describe('State kept across updates: KB copy, channel KB, logs.'),
        models: ConfigPath.default('models').describe('Folder of ONNX models and their cards, relative to the running slot.'),
      })
      .prefault({})
      .describe('Where the edge finds and keeps its files.'),
    telemetry: z
      .strictObject({
        intervalMs: PositiveInt.min(100).max(3_600_000).default(1000).describe('Time between telemetry samples, ms.'),
      })
      .prefault({})
      .describe('Telemetry settings.'),
    logLevel: LogLevel,
  })
  .meta({ title: 'Edge configuration', description: 'Configuration of akb-edge; every field but deviceId has a default.' });
export type EdgeConfig = z.infer<typeof EdgeConfig>;
export type EdgeConfigInput = z.input<typeof EdgeConfig>;

export const CloudConfig = z
  .strictObject({
    $schema: SchemaRef,
    v: z.literal(1).default(1).describe('Configuration format version.'),
    clientId: DeviceId.default('akb-cloud').describe('Client id of this worker; answers to it arrive on akb/v1/cloud/res/{clientId}.'),
    broker: BrokerConfig.prefault({}),
    shareGroup: DeviceId.optional().describe('Shared-subscription group: when set, workers of the group split device traffic ($share/{group}/...).'),
    workers: PositiveInt.max(256).default(1).describe('Decoder workers in this process.'),
    paths: z
      .strictObject({
        data: ConfigPath.default('.data/cloud').describe('State: KB versions, fleet registry, telemetry store.'),
        models: ConfigPath.default('models').describe('Folder of ONNX models (decoder, vision encoder) and their cards.'),
        corpus: ConfigPath.optional().describe('Image corpus the LVM agent builds the source KB from.'),
      })
      .prefault({})
      .describe('Where the cloud finds and keeps its files.'),
    http: z
      .strictObject({
        host: z.string().min(1).max(255).default('127.0.0.1').describe('Dashboard listen address.'),
        port: z.number().int().min(0).max(65535).default(8080).describe('Dashboard port; 0 picks a free one.'),
      })
      .prefault({})
      .describe('Dashboard HTTP server.'),
    logLevel: LogLevel,
  })
  .meta({ title: 'Cloud configuration', description: 'Configuration of akb-cloud; every field has a default.' });
export type CloudConfig = z.infer<typeof CloudConfig>;
export type CloudConfigInput = z.input<typeof CloudConfig>;
