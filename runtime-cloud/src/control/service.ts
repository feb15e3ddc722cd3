/**
 * The cloud service's control plane: it watches the fleet's status and answers requests on
 * `akb/v1/cloud/req` and `akb/v1/cloud/ops/req`. With model sets it also runs the decoder (decoder.ts),
 * hosts the source KB (kb-service.ts) and turns intents into reward weights forwarded to the edges
 * (intent.ts), each on the device's own cmd/req and answered on its own cmd/res (commands.ts).
 *
 * Operations (operations.ts): on akb/v1/cloud/ops/req, which only tools may write, ping, fleet.list,
 * cloud.stats, intent.set, and with models kb.entries, kb.reload, decoder.stats, images.recent and
 * images.tiles (paged, images-ops.ts); on akb/v1/cloud/req, which every device may write, only ping and
 * kb.entries (the others answered FORBIDDEN).
 *
 * Scope (scope.ts, `akb-cloud --devices`): status, metas, frames and kb/req are subscribed per device,
 * or through the wildcard and checked; a request on cloud/req is answered only when its `from` is in the
 * scope or among `clients`, one on cloud/ops/req only when its `from` is among `clients`. What is ignored
 * is counted (`cloud.stats`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { AkbError, KB_ENTRIES_OP, INTENT_SET_OP, filters, isAkbError, topics } from '@akb/protocol';
import { AkbMqttClient, RpcServer, connectMqtt, type AkbMessage, type MqttTlsOptions, type MqttTransport, type RpcHandlers } from '@akb/protocol/mqtt';
import { createLogger } from '@akb/protocol/log';
import { loadModelSet, type ModelSet } from '@akb/jscc';
import { CloudDecoder, type CloudDecoderOptions } from '../decode/decoder.js';
import { FleetRegistry } from './fleet.js';
import type { ReferenceResolver } from '../decode/images.js';
import { DeviceCommands } from './commands.js';
import { recentPage, tilesPage } from './images-ops.js';
import { IntentBook, forwardIntent } from './intent.js';
import { splitOperations } from './operations.js';
import { KbService } from './kb-service.js';
import { DEFAULT_WEIGHTS } from '../decode/reward.js';
import { DeviceScope } from '../scope.js';
import { FleetHub } from '../telemetry/hub.js';
import { startFeeds, type Feed } from '../dashboard/feeds.js';
import { Telemetry, type TelemetryOptions } from '../telemetry/telemetry.js';
import { TELEMETRY_QUERY_OP, telemetryQuery } from '../telemetry/query-op.js';

export interface CloudModelOptions {
  /** The zoo folder (models/zoo); sets are read from its sibling sets/ folder. */
  zoo: string;
  /** Model set names (models/sets/<name>.json) or paths to such files. */
  sets: readonly string[];
}

/** What the decoder takes besides its client, sets, KB store, weights, references and scope. */
export type DecoderTuning = Omit<CloudDecoderOptions, 'client' | 'sets' | 'kb' | 'weights' | 'references' | 'scope'>;

export interface CloudAttachOptions {
  /** Model sets to decode: loaded here from `models`, or given already loaded as `sets`. */
  models?: CloudModelOptions;
  sets?: readonly ModelSet[];
  /** The source KB snapshot to host (default: the first AKB set's KB in the zoo). */
  kbDir?: string;
  references?: ReferenceResolver;
  decoder?: DecoderTuning;
  /** Sent as `from` of forwarded commands (default akb-cloud-<pid>). */
  clientId?: string;
  /** The devices this cloud serves (default every device). */
  scope?: DeviceScope;
  /**
   * With a scope: the tools (by `from`) answered on cloud/ops/req, and on cloud/req besides the scope's
   * devices (default none). Without a scope every requester is answered.
   */
  clients?: DeviceScope;
  /** How long a forwarded command waits for each device's answer (default 3000 ms). */
  commandTimeoutMs?: number;
  /** Keep the fleet's telemetry: ingest, store (closed by stop()), alarms, metrics (telemetry/telemetry.ts). */
  telemetry?: TelemetryOptions;
  /** The fleet key: the KB announce and entry responses on kb/res are signed with it (kb-service.ts). */
  fleetKey?: KeyObject;
}

export interface CloudServiceOptions extends CloudAttachOptions {
  brokerUrl: string;
  clientId?: string;
  username?: string;
  password?: string;
  protocolVersion?: 4 | 5;
  /**
   * Keep the MQTT session (clean session off, needs a fixed clientId): the broker keeps the subscriptions
   * and queues QoS 1 messages while this process or the broker (with persistence) is down.
   */
  persistentSession?: boolean;
  /** TLS material for mqtts:// (PEM contents; akb-cloud reads --ca/--cert/--key with loadTlsFlags). */
  tls?: MqttTlsOptions;
}

export class CloudService {
  readonly fleet = new FleetRegistry();
  /** The fleet as the dashboard and the metrics see it (telemetry/hub.ts); OTA jobs and thumbnails come from startFeeds. */
  readonly hub = new FleetHub();
  private feeds: Feed | undefined;
  /** With the `telemetry` option: the ingest (its stats), the store, the alarm rules and the metrics registry. */
  telemetry: Telemetry | undefined;
  readonly intents: IntentBook;
  readonly scope: DeviceScope;
  private readonly clients: DeviceScope | undefined;
  private readonly log = createLogger('cloud');
  /** akb/v1/cloud/req: what a device may ask for itself. */
  private readonly rpc: RpcServer;
  /** akb/v1/cloud/ops/req: every operation, for tools (the broker ACL keeps devices out). */
  private readonly ops: RpcServer;
  /** Operator operations refused on cloud/req, and when that was last logged. */
  private forbidden = 0;
  private forbiddenLoggedAt = -Infinity;
  private readonly commands: DeviceCommands;
  private readonly unroute: (() => void)[] = [];
  private readonly subscribed: string[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly client: MqttTransport,
    readonly decoder: CloudDecoder | undefined,
    readonly kb: KbService | undefined,
    sets: readonly ModelSet[],
    options: CloudAttachOptions,
    private readonly closeClient: (() => Promise<void>) | undefined,
  ) {
    this.scope = options.scope ?? DeviceScope.all();
    this.clients = options.clients;
    this.intents = new IntentBook({ set: sets.find((s) => s.channelKb) ?? sets[0], profileOf: (d) => this.fleet.get(d)?.profile });
    this.commands = new DeviceCommands(client, { from: options.clientId ?? `akb-cloud-${process.pid}`, timeoutMs: options.commandTimeoutMs ?? 3000 });
    const handlers: RpcHandlers = {
      ping: () => ({ pong: true, ts: Date.now() }),
      'fleet.list': () => this.fleet.list(),
      'cloud.stats': () => this.stats(),
    };
    if (kb) {
      handlers[KB_ENTRIES_OP] = (args) => kb.entries(args);
      handlers['kb.reload'] = () => kb.reload();
    }
    if (decoder) {
      handlers['decoder.stats'] = () => decoder.stats;
      handlers['images.recent'] = (args) => recentPage(decoder.recent(), args);
      handlers['images.tiles'] = (args) => tilesPage(decoder.recent(), args);
    }
    handlers[INTENT_SET_OP] = (args) => this.setIntent(args);
    handlers[TELEMETRY_QUERY_OP] = (args) => {
      if (this.telemetry === undefined) throw new AkbError('NO_TELEMETRY', 'this akb-cloud keeps no telemetry', { hint: 'start it without --no-telemetry' });
      return telemetryQuery(this.telemetry.store, args);
    };
    const split = splitOperations(handlers, (op, ctx) => this.onForbidden(op, ctx.from));
    const onError = (error: unknown, context: object): void => {
      // A refused operator operation is counted and logged (throttled) by onForbidden.
      if (!(isAkbError(error) && error.code === 'FORBIDDEN')) this.log.warn({ err: error, ...context }, 'request failed');
    };
    // With a scope: cloud/req answers its devices and the named clients, cloud/ops/req the named clients only.
    const accept = (allowed: (from: string) => boolean) => (from: string | undefined): boolean => {
      if (this.scope.everything || (from !== undefined && allowed(from))) return true;
      this.scope.counters.requests++;
      return false;
    };
    const device = accept((from) => this.scope.has(from) || this.clients?.has(from) === true);
    const operator = accept((from) => this.clients?.has(from) === true);
    this.rpc = new RpcServer(client, { requestTopic: topics.cloudReq(), handlers: split.device, onError, accept: device });
    this.ops = new RpcServer(client, { requestTopic: topics.cloudOpsReq(), handlers: split.operator, onError, accept: operator });
  }

  /** Connects to the broker and starts. `stop()` closes the connection (its subscriptions go with it). */
  static async start(options: CloudServiceOptions): Promise<CloudService> {
    const clientId = options.clientId ?? `akb-cloud-${process.pid}`;
    const client = await connectMqtt({
      url: options.brokerUrl,
      clientId,
      username: options.username,
      password: options.password,
      protocolVersion: options.protocolVersion ?? 4,
      // The broker sends what it queued for the session right after the CONNACK: held until the handlers are on.
      ...(options.persistentSession === true ? { mqtt: { clean: false }, hold: true } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
    try {
      const service = await CloudService.build(client, { ...options, clientId }, () => client.close({ timeoutMs: 1000 }));
      client.release();
      return service;
    } catch (e) {
      await client.close({ force: true });
      throw e;
    }
  }

  /** Starts on a client the caller connected (and closes); `stop()` unsubscribes and leaves the client open. */
  static attach(client: MqttTransport, options: CloudAttachOptions = {}): Promise<CloudService> {
    return CloudService.build(client, options, undefined);
  }

  private static async build(client: MqttTransport, options: CloudAttachOptions, closeClient: (() => Promise<void>) | undefined): Promise<CloudService> {
    const log = createLogger('cloud');
    const scope = options.scope ?? DeviceScope.all();
    const sets = options.sets ?? (options.models ? await Promise.all(options.models.sets.map((s) => loadModelSet(options.models!.zoo, s))) : []);
    const kbDir = options.kbDir ?? (options.models ? await kbDirOf(options.models, sets) : undefined);
    const onError = (err: unknown, context: object): void => log.warn({ err, ...context }, 'cloud');
    const kb = kbDir !== undefined ? await KbService.start(client, { dir: kbDir, onError, scope, ...(options.fleetKey ? { fleetKey: options.fleetKey } : {}) }) : undefined;
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
              scope,
              ...(kb ? { kb } : {}),
              ...(options.references ? { references: options.references } : {}),
              weights: (device) => late.service?.intents.weightsFor(device) ?? DEFAULT_WEIGHTS,
            })
          : undefined;
    } catch (e) {
      await kb?.stop();
      throw e;
    }
    const service = new CloudService(client, decoder, kb, sets, { ...options, scope }, closeClient);
    late.service = service;
    await service.listen();
    service.feeds = await startFeeds(client, service.hub, decoder?.images, onError);
    if (options.telemetry) {
      const t = options.telemetry;
      service.telemetry = await Telemetry.start(client, service.hub, { ...t, ingest: { ...t.ingest, scope } }).catch(async (e: unknown) => {
        await service.stop();
        throw e;
      });
    }
    // A broker restarted without persistence forgets retained messages: announce the KB again.
    if (kb && client instanceof AkbMqttClient) {
      service.unroute.push(client.connected.on(({ reconnect }) => (reconnect ? kb.announce() : undefined)));
    }
    return service;
  }

  /** Subscribes to the fleet's status (per the scope), to cloud/req and to cloud/ops/req. */
  private async listen(): Promise<void> {
    this.unroute.push(this.client.onMessage(filters.allStatus, (m) => this.onStatus(m)));
    this.unroute.push(this.client.onMessage(topics.cloudReq(), (m) => this.rpc.handle(m)));
    this.unroute.push(this.client.onMessage(topics.cloudOpsReq(), (m) => this.ops.handle(m)));
    for (const f of [...this.scope.filters('status'), topics.cloudReq(), topics.cloudOpsReq()]) {
      await this.client.subscribe(f, { qos: 1 });
      this.subscribed.push(f);
    }
  }

  /**
   * Stops answering, stops the decoder (tiles not yet started are dropped, open images finished as
   * `stopped`) and the KB service, then unsubscribes (attached) or closes the connection (started).
   * With the broker gone, unsubscribing and closing wait on it: bound stop() from outside (akb-cloud does).
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    for (const u of this.unroute.splice(0)) u();
    const close = this.closeClient;
    const commands = this.commands.stop();
    await this.feeds?.stop({ unsubscribe: close === undefined });
    await this.telemetry?.stop({ unsubscribe: close === undefined });
    await this.decoder?.stop({ unsubscribe: close === undefined });
    await this.kb?.stop({ unsubscribe: close === undefined });
    if (close !== undefined) {
      await close();
    } else {
      await Promise.allSettled(this.subscribed.map((f) => this.client.unsubscribe(f)));
      await commands;
    }
  }

  /** What the service counted: requests, and what it ignored as outside its scope. */
  stats(): object {
    const d = this.decoder?.stats.outOfScope ?? { metas: 0, frames: 0 };
    return {
      devices: this.scope.describe(),
      clients: this.clients?.describe() ?? (this.scope.everything ? 'every requester' : 'none'),
      outOfScope: { ...this.scope.counters, ...d },
      requests: { 'cloud/req': { ...this.rpc.stats, forbidden: this.forbidden }, 'cloud/ops/req': this.ops.stats },
      fleet: { devices: this.fleet.list().length, malformed: this.fleet.malformed, stale: this.fleet.stale },
      ...(this.telemetry ? { telemetry: { store: this.telemetry.store.location, ...this.telemetry.ingest.stats(), alarms: this.telemetry.alarms.stats() } } : {}),
      ...(this.decoder ? { limits: this.decoder.limits } : {}),
    };
  }

  private onStatus(m: AkbMessage): void {
    const device = m.topic.split('/')[3];
    if (device !== undefined && !this.scope.has(device)) {
      this.scope.counters.status++;
      return;
    }
    const entry = this.fleet.accept(m);
    if (entry) this.log.info(entry, 'device status');
  }

  /** cloud/req: with a scope, only requests from its devices or the named clients are answered. */
  /** An operator operation on cloud/req: counted, and logged at most once every 10 s. */
  private onForbidden(op: string, from: string | undefined): void {
    this.forbidden++;
    const now = Date.now();
    if (now - this.forbiddenLoggedAt < FORBIDDEN_LOG_MS) return;
    this.forbiddenLoggedAt = now;
    this.log.warn({ op, from, forbidden: this.forbidden }, `operator operation "${op}" refused on ${topics.cloudReq()}: served on ${topics.cloudOpsReq()} only`);
  }

  /** intent.set: store, derive weights, forward to the target devices (those in the scope). */
  private async setIntent(args: unknown): Promise<object> {
    const stored = this.intents.set(args);
    const known = new Map(this.fleet.list().filter((e) => e.state === 'online').map((e) => [e.device, e.profile]));
    const devices = IntentBook.targets(stored.intent, known);
    const forwarded = await forwardIntent(this.commands, stored.intent, devices, (d) => this.scope.has(d));
    this.log.info({ intent: stored.intent.id, weights: stored.weights, devices }, 'intent set');
    return { id: stored.intent.id, weights: stored.weights, budgetUses: Number.isFinite(stored.budgetUses) ? stored.budgetUses : null, kept: stored.kept, forwarded };
  }
}

/** How often a refused operator operation is logged (all are counted: cloud.stats). */
const FORBIDDEN_LOG_MS = 10_000;

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
