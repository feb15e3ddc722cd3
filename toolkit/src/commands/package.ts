/**
 * `akb package`: a signed bundle (.akb) of everything one device profile runs: the edge daemon and the
 * install agent as single JavaScript files, the target's native addons, the Node.js runtime the profile
 * names, the model set with its cards, the profile, the systemd units and the probe image. The work is in
 * toolkit/src/package/; progress goes to stderr, the summary to stdout (--json: machine-readable).
 */
import { AkbError } from '@akb/protocol';
import { defineCommand } from './define.js';
import { emit } from '../run-command.js';

const EPILOG = [
  'The Node.js runtime: by default the official build the profile names (runtime.node), fetched with `npm pack`',
  'into $AKB_CACHE (else ~/.cache/akb) and checked against the registry\'s integrity; --node <tgz|folder> supplies',
  'it offline; --no-node leaves it out (the board\'s own node runs, 20.11 or newer). Reproducible: SOURCE_DATE_EPOCH,',
  'else the commit time, is the bundle\'s `created`. Refused with one line: an unknown profile, a missing model set',
  'or model, an fp16 model for a profile without a GPU backend, models over memoryMb/8, a key that is not Ed25519.',
].join(' ');

export const packageCommand = defineCommand({
  command: 'package',
  describe: 'Build a signed bundle (.akb) for a device profile: edge runtime, native addons, Node.js, model set',
  builder: (y) =>
    y
      .version(false)
      .option('profile', { type: 'string', demandOption: true, describe: 'device profile id (akb devices list)' })
      .option('set', { type: 'string', demandOption: true, describe: 'model set: a name in <zoo>/../sets/ or a path to its JSON' })
      .option('models', { type: 'string', describe: 'model zoo folder (default: models/zoo, or the zoo beside the set file)' })
      .option('key', { type: 'string', demandOption: true, describe: 'Ed25519 private key (PKCS#8 PEM; akb keys generate)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'bundle file to write (atomically)' })
      .option('version', { type: 'string', describe: "bundle version (semver; default: the edge runtime's)" })
      .option('node', { type: 'string', describe: 'Node.js runtime to carry: an npm node-linux-<arch> .tgz, a nodejs.org tarball or a folder with bin/node (--no-node: none)' })
      .option('quantize', { type: 'boolean', default: false, describe: "quantize the edge's image models for the profile (needs --calib)" })
      .option('calib', { type: 'string', describe: 'calibration images for --quantize' })
      .option('description', { type: 'string', describe: 'release notes for the manifest' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
      .epilog(EPILOG),
  run: async (args, io) => {
    if (args.quantize && args.calib === undefined) throw new AkbError('BAD_OPTION', '--quantize needs --calib <folder of images>', { exitCode: 2 });
    // yargs turns --no-node into node: false.
    const nodeArg = args.node as string | boolean | undefined;
    const node = nodeArg === false ? ({ kind: 'none' } as const) : typeof nodeArg === 'string' ? ({ kind: 'given', path: nodeArg } as const) : ({ kind: 'registry' } as const);
    const { packageBundle } = await import('../package/index.js');
    const summary = await packageBundle({
      profile: args.profile,
      set: args.set,
      key: args.key,
      output: args.output,
      node,
      ...(args.models !== undefined ? { models: args.models } : {}),
      ...(args.version !== undefined ? { version: args.version } : {}),
      ...(args.quantize ? { quantize: { calib: args.calib! } } : {}),
      ...(args.description !== undefined ? { description: args.description } : {}),
      progress: (m) => io.err(`akb package: ${m}`),
    });
    emit(io, args.json, summary, () => [
      `${summary.output}: ${summary.name} ${summary.version} for ${summary.profile} (${summary.arch}), ${mb(summary.size)} MB, ${summary.files} files`,
      `sha256 ${summary.sha256}`,
      `node: ${summary.node ?? "none (the board's node runs)"}; models: ${summary.models.join(', ')}`,
      ...Object.entries(summary.bytesByRole).map(([role, bytes]) => `  ${role}: ${mb(bytes)} MB`),
      ...summary.notes.map((n) => `note: ${n}`),
    ]);
  },
});

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
