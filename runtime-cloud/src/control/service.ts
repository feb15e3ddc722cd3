/**
 * The cloud service's control plane: it watches the fleet's status and answers requests on
 * `akb/v1/cloud/req`. With model sets it also runs the decoder (decoder.ts), hosts the source KB
 * (kb-service.ts) and turns intents into reward weights forwarded to the edges (intent.ts).
 *
 * Operations on akb/v1/cloud/req: ping, fleet.list, and with models kb.entries, kb.reload, intent.set,
 * decoder.stats, images.recent (summaries, no pixels).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AkbError, KB_ENTRIES_OP, INTENT_SET_OP, filters, topics } from '@akb/protocol';
import { AkbMqttClient, RpcClient, RpcServer, connectMqtt, type MqttTransport, type RpcHandlers } from '@akb/protocol/mqtt';
import { createLogger } from '@akb/protocol/log';
import { loadModelSet, type ModelSet } from '@akb/jscc';
import { CloudDecoder, type CloudDecoderOptions } from '../decode/decoder.js';
import { FleetRegistry } from './fleet.js';
import type { ImageResult, ReferenceResolver } from '../decode/images.js';
import { IntentBook, forwardIntent } from './intent.js';
import { KbService } from './kb-service.js';
import { DEFAULT_WEIGHTS } from '../decode/reward.js';

export interface CloudModelOptions {
  /** The zoo folder (models/zoo); sets are read from its sibling sets/ folder. */
  zoo: string;
  /** Model set names (models/sets/<name>.json) or paths to such files. */
  sets: readonly string[];
}

/** What the decoder takes besides its client, sets, KB store, weights and references. */
export type DecoderTuning = Omit<CloudDecoderOptions, 'client' | 'sets' | 'kb' | 'weights' | 'references'>;

export interface CloudAttachOptions {
  /** Model sets to decode: loaded here from `models`, or given already loaded as `sets`. */
  models?: CloudModelOptions;
  sets?: readonly ModelSet[];
  /** The source KB snapshot to host (default: the first AKB set's KB in the zoo). */
  kbDir?: string;
  references?: ReferenceResolver;
  decoder?: DecoderTuning;
  /** Used for the reply topic of forwarded commands (default akb-cloud-<pid>). */
  clientId?: string;
}

export interface CloudServiceOptions extends CloudAttachOptions {
  brokerUrl: string;
  clientId?: string;
  username?: string;
  password?: string;
  protocolVersion?: 4 | 5;
}

export class CloudService {
  readonly fleet = new FleetRegistry();
  readonly intents: IntentBook;
  private readonly log = createLogger('cloud');
  private readonly rpc: RpcServer;
  private readonly commands: RpcClient;
  private stopFleet: (() => void) | undefined;
  private stopReannounce: (() => void) | undefined;

  private constructor(
    private readonly client: MqttTransport,
    readonly decoder: CloudDecoder | undefined,
    readonly kb: KbService | undefined,
    sets: readonly ModelSet[],
    clientId: string,
    private readonly closeClient: (() => Promise<void>) | undefined,
  ) {
    this.intents = new IntentBook({ set: sets.find((s) => s.channelKb) ?? sets[0], profileOf: (d) => this.fleet.get(d)?.profile });
    this.commands = new RpcClient(client, { requestTopic: topics.fleetCmdReq(), replyTopic: topics.cloudRes(`${clientId.slice(0, 60)}-cmd`), from: clientId, timeoutMs: 3000 });
    const handlers: RpcHandlers = {
      ping: () => ({ pong: true, ts: Date.now() }),
      'fleet.list': () => this.fleet.list(),
    };
    if (kb) {
      handlers[KB_ENTRIES_OP] = (args) => kb.entries(args);
      handlers['kb.reload'] = () => kb.reload();
    }
    if (decoder) {
      handlers['decoder.stats'] = () => decoder.stats;
      handlers['images.recent'] = () => decoder.recent().map(summary);
    }
    handlers[INTENT_SET_OP] = (args) => this.setIntent(args);
    this.rpc = new RpcServer(client, {
      requestTopic: topics.cloudReq(),
      handlers,
      onError: (error, context) => this.log.warn({ err: error, ...context }, 'request failed'),
    });
  }

  /** Connects to the broker and starts. */
  static async start(options: CloudServiceOptions): Promise<CloudService> {
    const clientId = options.clientId ?? `akb-cloud-${process.pid}`;
    const client = await connectMqtt({
      url: options.brokerUrl,
      clientId,
      username: options.username,
      password: options.password,
      protocolVersion: options.protocolVersion ?? 4,
    });
    try {
      return await CloudService.build(client, { ...options, clientId }, () => client.close());
    } catch (e) {
      await client.close({ force: true });
      throw e;
    }
  }

  /** Starts on a client the caller connected (and closes); `stop()` leaves the client open. */
  static attach(client: MqttTransport, options: CloudAttachOptions = {}): Promise<CloudService> {
    return CloudService.build(client, options, undefined);
  }

  private static async build(client: MqttTransport, options: CloudAttachOptions, closeClient: (() => Promise<void>) | undefined): Promise<CloudService> {
    const log = createLogger('cloud');
    const sets = options.sets ?? (options.models ? await Promise.all(options.models.sets.map((s) => loadModelSet(options.models!.zoo, s))) : []);
    const kbDir = options.kbDir ?? (options.models ? await kbDirOf(options.models, sets) : undefined);
    const onError = (err: unknown, context: object): void => log.warn({ err, ...context }, 'cloud');
    const kb = kbDir !== undefined ? await KbService.start(client, { dir: kbDir, onError }) : undefined;
    // The decoder asks the service's intents for weights; the service is made after the decoder.
    const late: { service?: CloudService } = {};
    let decoder: CloudDecoder | undefined;
    try {
      decoder =
        sets.length > 0
          ? await CloudDecoder.start({
              onError,
              ...options.decoder,
              client,
              sets,
              ...(kb ? { kb } : {}),
              ...(options.references ? { references: options.references } : {}),
              weights: (device) => late.service?.intents.weightsFor(device) ?? DEFAULT_WEIGHTS,
            })
          : undefined;
    } catch (e) {
      await kb?.stop();
      throw e;
    }
    const service = new CloudService(client, decoder, kb, sets, options.clientId ?? `akb-cloud-${process.pid}`, closeClient);
    late.service = service;
    service.stopFleet = client.onMessage(filters.allStatus, (m) => {
      const entry = service.fleet.accept(m);
      if (entry) service.log.info(entry, 'device status');
    });
    await client.subscribe(filters.allStatus, { qos: 1 });
    await service.rpc.start();
    // A broker restarted without persistence forgets retained messages: announce the KB again.
    if (kb && client instanceof AkbMqttClient) {
      service.stopReannounce = client.connected.on(({ reconnect }) => (reconnect ? kb.announce() : undefined));
    }
    return service;
  }

  async stop(): Promise<void> {
    await this.rpc.stop();
    this.stopFleet?.();
    this.stopReannounce?.();
    await this.commands.stop();
    await this.decoder?.stop();
    await this.kb?.stop();
    await this.closeClient?.();
  }

  /** intent.set: store, derive weights, forward to the target devices. */
  private async setIntent(args: unknown): Promise<object> {
    const stored = this.intents.set(args);
    const known = new Map(this.fleet.list().filter((e) => e.state === 'online').map((e) => [e.device, e.profile]));
    const devices = IntentBook.targets(stored.intent, known);
    const forwarded = await forwardIntent(this.commands, stored.intent, devices);
    this.log.info({ intent: stored.intent.id, weights: stored.weights, devices }, 'intent set');
    return { id: stored.intent.id, weights: stored.weights, budgetUses: Number.isFinite(stored.budgetUses) ? stored.budgetUses : null, kept: stored.kept, forwarded };
  }
}

/** An image result without its pixels, for answers and logs. */
export function summary(r: ImageResult): object {
  const { reconstruction: _pixels, tileResults, ...rest } = r;
  return { ...rest, tileResults: tileResults.map((t) => ({ ...t })) };
}

/** The KB folder named by the first AKB set's file in models/sets/. */
async function kbDirOf(models: CloudModelOptions, sets: readonly ModelSet[]): Promise<string | undefined> {
  const i = sets.findIndex((s) => s.kind === 'akb');
  const name = models.sets[i];
  if (name === undefined) return undefined;
  const path = name.endsWith('.json') ? name : join(models.zoo, '..', 'sets', `${name}.json`);
  const spec = JSON.parse(await readFile(path, 'utf8')) as { kb?: string };
  if (spec.kb === undefined) throw new AkbError('MODEL_SET_INVALID', `${path} names no kb`);
  return join(models.zoo, spec.kb);
}
