import { defineCommand } from './define.js';

export const brokerCommand = defineCommand({
  command: 'broker',
  describe: 'Run the embedded MQTT 3.1.1 broker (aedes) until interrupted',
  builder: (y) =>
    y
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to listen on' })
      .option('port', { type: 'number', default: 1883, describe: 'TCP port (0 picks a free one)' }),
  run: async (args, io) => {
    const { startEmbeddedBroker } = await import('../broker/embedded.js');
    const broker = await startEmbeddedBroker({ host: args.host, port: args.port });
    io.out(`akb: embedded broker listening on ${broker.url} (Ctrl-C stops it)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await broker.close();
  },
});
