/**
 * The edge agent's control plane: connected with a retained birth and a last-will death, it answers
 * commands on its request topic through a dispatch table. The encoder, channel KB and link drivers attach
 * to it (issue #4); until then it reports honestly that it has no models loaded.
 */
import { PROTOCOL_VERSION, topics, type StatusOnline } from '@akb/protocol';
import { RpcServer, connectDevice, type AkbMqttClient, type RpcHandlers } from '@akb/protocol/mqtt';
import { createLogger } from '@akb/protocol/log';

export const EDGE_VERSION = '0.1.0';

export interface EdgeAgentOptions {
  brokerUrl: string;
  deviceId: string;
  profile: string;
  username?: string;
  password?: string;
  protocolVersion?: 4 | 5;
}

export class EdgeAgent {
  private readonly log = createLogger('edge');
  private readonly rpc: RpcServer;

  private constructor(
    readonly options: EdgeAgentOptions,
    private readonly client: AkbMqttClient,
    private readonly bootTime: number,
  ) {
    const handlers: RpcHandlers = {
      ping: () => ({ pong: true, ts: Date.now() }),
      'status.get': () => this.snapshot(),
    };
    this.rpc = new RpcServer(client, {
      requestTopic: topics.cmdReq(options.deviceId),
      defaultReplyTopic: topics.cmdRes(options.deviceId),
      handlers,
      onError: (error, context) => this.log.warn({ err: error, ...context }, 'command failed'),
    });
  }

  static async start(options: EdgeAgentOptions): Promise<EdgeAgent> {
    const bootTime = Date.now();
    const client = await connectDevice({
      url: options.brokerUrl,
      deviceId: options.deviceId,
      username: options.username,
      password: options.password,
      protocolVersion: options.protocolVersion ?? 4,
      birth: (session) => birth(options, session, bootTime),
    });
    const agent = new EdgeAgent(options, client, bootTime);
    await agent.rpc.start();
    agent.log.info({ device: options.deviceId, broker: options.brokerUrl }, 'edge agent online');
    return agent;
  }

  snapshot(): object {
    const memory = process.memoryUsage();
    return {
      device: this.options.deviceId,
      profile: this.options.profile,
      session: this.client.session,
      uptimeS: Math.round((Date.now() - this.bootTime) / 1000),
      rssBytes: memory.rss,
      models: [],
      mqtt: this.client.stats,
      commands: this.rpc.stats,
    };
  }

  /** Publishes the "offline" status (reason shutdown) and disconnects. */
  async stop(): Promise<void> {
    await this.rpc.stop();
    await this.client.close();
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
    versions: { runtime: EDGE_VERSION, protocol: PROTOCOL_VERSION, models: [], kb: null },
    capabilities: ['cmd'],
  };
}
