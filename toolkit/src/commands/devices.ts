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
  describe: 'Score this machine, a mounted root file system, or a board on a serial console against every profile',
  builder: (y) =>
    y
      .option('root', { type: 'string', default: '/', describe: 'root to read /proc and /lib from, e.g. a mounted SD card; with --port, a folder on the board' })
      .option('port', { type: 'string', describe: 'serial port with a shell on the board\'s console, e.g. /dev/ttyUSB0: detection runs commands over it' })
      .option('baud', { type: 'number', default: 115200, describe: 'baud rate of --port' })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { detectProfile, directoryProbe, probeOverShell, DETECTION_THRESHOLD } = await import('@akb/devices');
    let matches;
    if (args.port === undefined) {
      matches = await detectProfile(directoryProbe(args.root));
    } else {
      const { openSerialLine } = await import('./devices-serial.js');
      const opened = await openSerialLine(args.port, args.baud);
      try {
        matches = await probeOverShell(opened.line, { root: args.root }, (probe) => detectProfile(probe));
      } finally {
        await opened.close();
      }
    }
    const where = args.port ?? args.root;
    const rows = matches.map((m) => ({ id: m.profile.id, score: m.score, confident: m.score >= DETECTION_THRESHOLD }));
    emit(io, args.json, rows, () =>
      rows.length === 0
        ? [`no profile matches ${where}; pass --profile to commands that need one`]
        : rows.map((r) => `${r.id.padEnd(18)} score ${String(r.score).padStart(4)}${r.confident ? '  (confident)' : ''}`),
    );
  },
});

const ports = defineCommand({
  command: 'ports',
  describe: 'List serial ports (from sysfs), naming known USB serial adapters and boards\' USB serial ports',
  builder: (y) =>
    y.option('sysfs', { type: 'string', default: '/sys', describe: 'sysfs root to read' }).option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { listSerialPorts } = await import('@akb/devices');
    const found = await listSerialPorts({ sysfs: args.sysfs });
    emit(io, args.json, found, () =>
      found.length === 0
        ? ['no serial ports found']
        : found.map((p) => {
            const id = p.vendorId !== undefined ? `${p.vendorId}:${p.productId ?? '????'}` : '-';
            const what = p.adapter?.name ?? [p.manufacturer, p.product].filter((x) => x !== undefined).join(' ');
            const serial = p.serialNumber !== undefined ? `  serial ${p.serialNumber}` : '';
            const note = p.adapter?.note !== undefined ? `  (${p.adapter.note})` : '';
            return `${p.path.padEnd(16)} ${p.bus.padEnd(8)} ${id.padEnd(10)} ${what || (p.bus === 'builtin' ? 'built-in UART' : 'unknown USB device')}${serial}${note}`;
          }),
    );
  },
});

export const devicesCommand = defineGroup('devices', 'Device profiles: list, show, detect; serial ports', [list, show, detect, ports]);
