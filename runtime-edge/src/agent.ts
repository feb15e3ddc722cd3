/**
 * The edge agent's control plane: connected with a retained birth and a last-will death, it answers
 * commands on its request topic through a dispatch table. The JSCC pipeline (encoder, channel KB, link,
 * sources, telemetry) attaches to it after connecting and adds its operations; `intent.set` (also on the
 * fleet's command topic) goes to the attached pipeline's policy. Without one, the agent says so.
 */
import { AkbError, INTENT_SET_OP, PROTOCOL_VERSION, topics, type ModelVersion, type StatusOnline } from '@akb/protocol';
import { RpcServer, connectDevice, type AkbMqttClient, type MqttTlsOptions, type RpcHandler, type RpcHandlers } from '@akb/protocol/mqtt';
import { createLogger } from '@akb/protocol/log';
import type { ProfileChoice } from '@akb/devices';

export const EDGE_VERSION = '0.1.0';

export interface EdgeAgentOptions {
  brokerUrl: string;
  deviceId: string;
  /** Device profile id: the birth's `profile`. */
  profile: string;
  /** How the profile was chosen (given, detected, generic), for status.get and the log. */
  profileChoice?: ProfileChoice;
  username?: string;
  password?: string;
  /** MQTT client id (default: the device id; the health probe uses its own, not to take over a running runtime's connection). */
  clientId?: string;
  /** TLS material for mqtts:// (PEM contents: settings.ts reads the files). */
  tls?: MqttTlsOptions;
  keepaliveSeconds?: number;
  reconnectPeriodMs?: number;
  protocolVersion?: 4 | 5;
  /** Models loaded, for the birth and status.get. */
  models?: readonly ModelVersion[];
  /** Source-KB version id held, for the birth. */
  kb?: number | null;
  /** Capability tokens besides `cmd`. */
  capabilities?: readonly string[];
  /** The installed bundle's version and slot when the runtime runs from one (AKB_SLOT_DIR), for the birth. */
  installed?: { version: string; slot: 'A' | 'B' };
  /** Attaches the pipeline once connected (before commands are answered). */
  attach?: (client: AkbMqttClient) => Promise<EdgeAttachment>;
}

/** What the pipeline adds to the agent. */
export interface EdgeAttachment {
  /** More operations for the dispatch table. */
  handlers?: RpcHandlers;
  /** Handles `intent.set` args. */
  intent?: RpcHandler;
  /** Merged into status.get. */
  snapshot?: () => object;
  /** Called on stop, before the agent says goodbye. */
  stop?: () => Promise<void>;
}

export class EdgeAgent {
  private readonly log = createLogger('edge');
  private readonly rpc: RpcServer;
  private readonly fleetRpc: RpcServer;

  private constructor(
    readonly options: EdgeAgentOptions,
    private readonly client: AkbMqttClient,
    private readonly bootTime: number,
    private readonly attachment: EdgeAttachment = {},
  ) {
    const intent: RpcHandler = (args, ctx) => {
      if (!this.attachment.intent) {
        throw new AkbError('NO_PIPELINE', 'this edge runs no JSCC pipeline, so it has no policy to steer', {
          hint: 'start akb-edge with --models <zoo folder> --set <name>',
        });
      }
      return this.attachment.intent(args, ctx);
    };
    const handlers: RpcHandlers = {
      ping: () => ({ pong: true, ts: Date.now() }),
      'status.get': () => this.snapshot(),
      [INTENT_SET_OP]: intent,
      ...attachment.handlers,
    };
    const onError = (error: unknown, context: object): void => this.log.warn({ err: error, ...context }, 'command failed');
    const replies = { defaultReplyTopic: topics.cmdRes(options.deviceId), onError };
    this.rpc = new RpcServer(client, { requestTopic: topics.cmdReq(options.deviceId), handlers, ...replies });
    this.fleetRpc = new RpcServer(client, { requestTopic: topics.fleetCmdReq(), handlers: { [INTENT_SET_OP]: intent }, ...replies });
  }

  static async start(options: EdgeAgentOptions): Promise<EdgeAgent> {
    const bootTime = Date.now();
    const client = await connectDevice({
      url: options.brokerUrl,
      deviceId: options.deviceId,
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      protocolVersion: options.protocolVersion ?? 4,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.keepaliveSeconds !== undefined ? { keepaliveSeconds: options.keepaliveSeconds } : {}),
      ...(options.reconnectPeriodMs !== undefined ? { reconnectPeriodMs: options.reconnectPeriodMs } : {}),
      // mqtt-packet's cache of the 65,536 two-byte numbers is 65,536 Buffer objects, 6.5 MB of heap
      // (a tenth of the edge's budget) to save one small allocation per packet.
      mqtt: { writeCache: false },
      birth: (session) => birth(options, session, bootTime),
    });
    let attachment: EdgeAttachment | undefined;
    try {
      attachment = await options.attach?.(client);
    } catch (e) {
      await client.close();
      throw e;
    }
    const agent = new EdgeAgent(options, client, bootTime, attachment);
    await agent.rpc.start();
    // Fleet intents are a bonus: a broker whose ACL refuses fleet/# leaves the device's own commands working.
    await agent.fleetRpc.start().catch((e: unknown) => agent.log.warn({ err: e }, 'no fleet commands'));
    agent.log.info({ device: options.deviceId, broker: options.brokerUrl, profile: options.profile, profileChoice: options.profileChoice }, 'edge agent online');
    return agent;
  }

  snapshot(): object {
    const memory = process.memoryUsage();
    return {
      device: this.options.deviceId,
      profile: this.options.profile,
      ...(this.options.profileChoice ? { profileChoice: this.options.profileChoice } : {}),
      session: this.client.session,
      uptimeS: Math.round((Date.now() - this.bootTime) / 1000),
      rssBytes: memory.rss,
      models: this.options.models ?? [],
      mqtt: this.client.stats,
      commands: this.rpc.stats,
      ...this.attachment.snapshot?.(),
    };
  }

  /** The broker connection, for what attaches to the agent. */
  get mqtt(): AkbMqttClient {
    return this.client;
  }

  /** Stops the pipeline, publishes the "offline" status (reason shutdown) and disconnects. */
  async stop(): Promise<void> {
    await this.rpc.stop();
    await this.fleetRpc.stop();
    try {
      await this.attachment.stop?.();
    } finally {
      await this.client.close();
    }
  }
}

function birth(options: EdgeAgentOptions, session: number, bootTime: number): StatusOnline {
  return {
    v: 1,
    device: options.deviceId,
    session,
    ts: Date.now(),
    state: 'online',
    profile: options.profile,
    bootTime,
    versions: {
      runtime: EDGE_VERSION,
      protocol: PROTOCOL_VERSION,
      models: [...(options.models ?? [])],
      kb: options.kb ?? null,
      ...(options.installed ? { bundle: options.installed.version, slot: options.installed.slot } : {}),
    },
    capabilities: ['cmd', ...(options.capabilities ?? [])],
  };
}
