#!/usr/bin/env node
/** `akb-cloud`: the cloud service. Runs until SIGINT or SIGTERM. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError } from '@akb/protocol';
import { CloudService } from './service.js';

async function main(): Promise<number> {
  const args = await yargs(hideBin(process.argv))
    .scriptName('akb-cloud')
    .usage('$0 [--broker <url>]\n\nThe akb cloud service: fleet registry (source KB and decoders to come).')
    .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
    .option('client-id', { type: 'string', describe: 'MQTT client id (default akb-cloud-<pid>)' })
    .option('username', { type: 'string' })
    .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
    .option('mqtt5', { type: 'boolean', default: false })
    .strict()
    .parseAsync();
  const service = await CloudService.start({
    brokerUrl: args.broker,
    clientId: args.clientId,
    username: args.username,
    password: args.passwordEnv ? process.env[args.passwordEnv] : undefined,
    protocolVersion: args.mqtt5 ? 5 : 4,
  });
  process.stdout.write(`akb-cloud: watching the fleet at ${args.broker}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await service.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const { lines, exitCode } = describeError(e, 'akb-cloud', Boolean(process.env.AKB_DEBUG));
    for (const line of lines) process.stderr.write(`${line}\n`);
    process.exit(exitCode);
  },
);
