#!/usr/bin/env node
/** `akb-edge`: the device daemon. Runs until SIGINT or SIGTERM, then says goodbye on its status topic. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError } from '@akb/protocol';
import { EdgeAgent } from './agent.js';

async function main(): Promise<number> {
  const args = await yargs(hideBin(process.argv))
    .scriptName('akb-edge')
    .usage('$0 --device <id> [--broker <url>]\n\nThe akb edge runtime.')
    .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
    .option('device', { type: 'string', default: process.env.AKB_DEVICE_ID, describe: 'device id, also the MQTT username (env AKB_DEVICE_ID)' })
    .option('profile', { type: 'string', default: 'host-x64', describe: 'device profile id (see akb devices list)' })
    .option('username', { type: 'string', describe: 'MQTT username (default: the device id when a password is given)' })
    .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
    .option('mqtt5', { type: 'boolean', default: false, describe: 'speak MQTT 5 (Mosquitto, EMQX); the embedded broker speaks 3.1.1' })
    .strict()
    .parseAsync();
  if (!args.device) {
    process.stderr.write('akb-edge: no device id (pass --device <id> or set AKB_DEVICE_ID)\n');
    return 2;
  }
  const password = args.passwordEnv ? process.env[args.passwordEnv] : undefined;
  const agent = await EdgeAgent.start({
    brokerUrl: args.broker,
    deviceId: args.device,
    profile: args.profile,
    username: args.username ?? (password !== undefined ? args.device : undefined),
    password,
    protocolVersion: args.mqtt5 ? 5 : 4,
  });
  process.stdout.write(`akb-edge: ${args.device} online at ${args.broker}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await agent.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const { lines, exitCode } = describeError(e, 'akb-edge', Boolean(process.env.AKB_DEBUG));
    for (const line of lines) process.stderr.write(`${line}\n`);
    process.exit(exitCode);
  },
);
