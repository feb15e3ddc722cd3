/**
 * The cloud service's control plane: it watches the fleet's status and answers requests on
 * `akb/v1/cloud/req`. The source KB, the decoder workers and feedback attach to it (issue #4).
 */
import { filters, topics } from '@akb/protocol';
import { RpcServer, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { createLogger } from '@akb/protocol/log';
import { FleetRegistry } from './fleet.js';

export interface CloudServiceOptions {
  brokerUrl: string;
  clientId?: string;
  username?: string;
  password?: string;
  protocolVersion?: 4 | 5;
}

export class CloudService {
  readonly fleet = new FleetRegistry();
  private readonly log = createLogger('cloud');
  private readonly rpc: RpcServer;

  private constructor(private readonly client: AkbMqttClient) {
    this.rpc = new RpcServer(client, {
      requestTopic: topics.cloudReq(),
      handlers: {
        ping: () => ({ pong: true, ts: Date.now() }),
        'fleet.list': () => this.fleet.list(),
      },
      onError: (error, context) => this.log.warn({ err: error, ...context }, 'request failed'),
    });
  }

  static async start(options: CloudServiceOptions): Promise<CloudService> {
    const client = await connectMqtt({
      url: options.brokerUrl,
      clientId: options.clientId ?? `akb-cloud-${process.pid}`,
      username: options.username,
      password: options.password,
      protocolVersion: options.protocolVersion ?? 4,
    });
    const service = new CloudService(client);
    client.onMessage(filters.allStatus, (m) => {
      const entry = service.fleet.accept(m);
      if (entry) service.log.info(entry, 'device status');
    });
    await client.subscribe(filters.allStatus, { qos: 1 });
    await service.rpc.start();
    return service;
  }

  async stop(): Promise<void> {
    await this.rpc.stop();
    await this.client.close();
  }
}
