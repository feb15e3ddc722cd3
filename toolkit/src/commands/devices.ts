import { defineCommand, defineGroup } from './define.js';
import { emit } from '../run-command.js';

const list = defineCommand({
  command: 'list',
  describe: 'List the device profiles in the catalogue',
  builder: (y) => y.option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { loadProfiles } = await import('@akb/devices');
    const profiles = await loadProfiles();
    const rows = profiles.map((profile) => ({
      id: profile.id,
      name: profile.name,
      arch: profile.cpu.arch,
      quantization: profile.quantization,
      backends: profile.backends,
    }));
    emit(io, args.json, rows, () =>
      rows.map((r) => `${r.id.padEnd(18)} ${r.arch.padEnd(6)} ${r.quantization.padEnd(12)} ${r.backends.join(' > ').padEnd(72)} ${r.name}`),
    );
  },
});

const show = defineCommand({
  command: 'show <id>',
  describe: 'Print one device profile as JSON',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }),
  run: async (args, io) => {
    const { getProfile } = await import('@akb/devices');
    io.out(JSON.stringify(await getProfile(args.id), null, 2));
  },
});

const detect = defineCommand({
  command: 'detect',
  describe: 'Score this machine (or a mounted root file system) against every profile',
  builder: (y) =>
    y
      .option('root', { type: 'string', default: '/', describe: 'root to read /proc and /lib from, e.g. a mounted SD card' })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { detectProfile, directoryProbe, DETECTION_THRESHOLD } = await import('@akb/devices');
    const matches = await detectProfile(directoryProbe(args.root));
    const rows = matches.map((m) => ({ id: m.profile.id, score: m.score, confident: m.score >= DETECTION_THRESHOLD }));
    emit(io, args.json, rows, () =>
      rows.length === 0
        ? [`no profile matches ${args.root}; pass --profile to commands that need one`]
        : rows.map((r) => `${r.id.padEnd(18)} score ${String(r.score).padStart(4)}${r.confident ? '  (confident)' : ''}`),
    );
  },
});

export const devicesCommand = defineGroup('devices', 'Device profiles: list, show, detect', [list, show, detect]);
