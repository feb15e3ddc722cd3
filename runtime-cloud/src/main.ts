#!/usr/bin/env node
/**
 * `akb-cloud`: the cloud service. Runs until SIGINT or SIGTERM.
 *
 *   akb-cloud --broker mqtt://host:1883                          fleet registry only
 *   akb-cloud --models models/zoo --set akb-k256 [--references ./originals] [--workers 2] [--shared]
 *
 * `--workers n` runs n decode lanes (worker threads) in this process. To spread decoding over several
 * processes or machines, start one akb-cloud per worker with `--shared`: the broker then hands each frame
 * to one of them (a shared subscription, `$share/<group>/...`; Mosquitto, EMQX, HiveMQ and VerneMQ have
 * it; the embedded aedes broker does not, so keep the default `--no-shared` there).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError } from '@akb/protocol';
import { CloudService } from './control/service.js';
import { folderReferences } from './decode/references.js';

async function main(): Promise<number> {
  const args = await yargs(hideBin(process.argv))
    .scriptName('akb-cloud')
    .usage('$0 [--broker <url>] [--models <zoo> --set <name>...]\n\nThe akb cloud service: fleet registry, source KB, decoders, feedback and intents.')
    .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
    .option('client-id', { type: 'string', describe: 'MQTT client id (default akb-cloud-<pid>)' })
    .option('username', { type: 'string' })
    .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
    .option('mqtt5', { type: 'boolean', default: false })
    .option('models', { type: 'string', default: 'models/zoo', describe: 'model zoo folder (sets are read from its sibling sets/)' })
    .option('set', { type: 'string', array: true, describe: 'model set(s) to decode (models/sets/<name>.json); none: fleet registry only' })
    .option('kb', { type: 'string', describe: 'source KB snapshot folder to host (default: the AKB set\'s KB)' })
    .option('references', { type: 'string', describe: 'folder of original images, by the names in image-meta: PSNR and reward in feedback' })
    .option('workers', { type: 'number', default: 1, describe: 'decode lanes (worker threads) in this process' })
    .option('shared', { type: 'boolean', default: false, describe: 'receive frames through a shared subscription (several akb-cloud processes split the work; not on aedes)' })
    .option('group', { type: 'string', default: 'cloud', describe: 'shared-subscription group' })
    .check((a) => {
      if (!(Number.isInteger(a.workers) && a.workers >= 1 && a.workers <= 64)) throw new Error('--workers must be an integer from 1 to 64');
      return true;
    })
    .strict()
    .parseAsync();
  const sets = args.set ?? [];
  const service = await CloudService.start({
    brokerUrl: args.broker,
    clientId: args.clientId,
    username: args.username,
    password: args.passwordEnv ? process.env[args.passwordEnv] : undefined,
    protocolVersion: args.mqtt5 ? 5 : 4,
    ...(sets.length > 0 ? { models: { zoo: args.models, sets } } : {}),
    ...(args.kb !== undefined ? { kbDir: args.kb } : {}),
    ...(args.references !== undefined ? { references: folderReferences(args.references) } : {}),
    decoder: { workers: args.workers, shared: args.shared, group: args.group },
  });
  const decoding = sets.length > 0 ? `; decoding ${sets.join(', ')} with ${args.workers} worker(s)${args.shared ? ` (shared group ${args.group})` : ''}` : '';
  process.stdout.write(`akb-cloud: watching the fleet at ${args.broker}${decoding}\n`);
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
