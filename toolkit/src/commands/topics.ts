import { defineCommand } from './define.js';
import { emit } from '../run-command.js';

export const topicsCommand = defineCommand({
  command: 'topics',
  describe: "Print a device's MQTT topics, or the Mosquitto ACL that confines devices to their own",
  builder: (y) =>
    y
      .option('device', { type: 'string', demandOption: true, describe: 'device id' })
      .option('acl', { type: 'boolean', default: false, describe: 'print a Mosquitto ACL file instead' })
      .option('json', { type: 'boolean', default: false }),
  run: async (args, io) => {
    const { topics, filters, OTA_KINDS, KB_KINDS } = await import('@akb/protocol');
    const id = args.device;
    if (args.acl) {
      // One pattern confines every device (username = device id) to its own subtree.
      io.out('# Mosquitto ACL for akb: each device (MQTT username = device id) owns akb/v1/dev/<id>/#');
      io.out('pattern readwrite akb/v1/dev/%u/#');
      io.out('pattern read akb/v1/fleet/#');
      io.out('pattern write akb/v1/cloud/req');
      io.out('pattern read akb/v1/cloud/res/%u');
      return;
    }
    const table: Record<string, string> = {
      status: topics.status(id),
      telemetry: topics.telemetry(id),
      'link/tx': topics.linkTx(id),
      'link/rx': topics.linkRx(id),
      feedback: topics.feedback(id),
      'cmd/req': topics.cmdReq(id),
      'cmd/res': topics.cmdRes(id),
      ...Object.fromEntries(OTA_KINDS.map((k) => [`ota/${k}`, topics.ota(id, k)])),
      ...Object.fromEntries(KB_KINDS.map((k) => [`kb/${k}`, topics.kb(id, k)])),
      'fleet kb announce': topics.kbAnnounce(),
      'fleet commands': topics.fleetCmdReq(),
      'cloud decode workers (shared)': filters.shared('cloud', filters.allLinkRx),
    };
    emit(io, args.json, table, () => Object.entries(table).map(([k, v]) => `${k.padEnd(30)} ${v}`));
  },
});
