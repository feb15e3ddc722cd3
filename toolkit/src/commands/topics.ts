import { defineCommand } from './define.js';
import { emit } from '../run-command.js';

export interface AclOptions {
  /** The cloud's MQTT user (akb-cloud --username). */
  cloudUser: string;
  /** Users of tools (the akb CLI, dashboards) that ask the cloud and command devices. */
  tools?: readonly string[];
  /** Users of channel emulators or radio gateways (read link/tx, write link/rx of every device). */
  gateways?: readonly string[];
}

/**
 * What a device publishes, each under its own `akb/v1/dev/{device}/` (the edge: status with its will,
 * telemetry, link/meta, frames on link/tx, or on link/rx with the in-process emulated channel, command
 * answers; the install agent: its `updating` status and the OTA block requests, progress and results; the
 * KB sync's requests). Nothing here is a topic another party writes *to* the device.
 */
export const DEVICE_WRITES = ['status', 'telemetry', 'link/tx', 'link/rx', 'link/meta', 'cmd/res', 'ota/get', 'ota/progress', 'ota/result', 'kb/req'] as const;
/** What a device reads of its own subtree: commands, feedback, OTA offers and blocks, KB answers. */
export const DEVICE_READS = ['cmd/req', 'feedback', 'ota/offer', 'ota/block', 'kb/res'] as const;
/** The fleet topics a device reads (written by the cloud only). */
export const DEVICE_FLEET_READS = ['fleet/kb/announce', 'fleet/cmd/req'] as const;

/**
 * A complete Mosquitto ACL file (protocol/PROTOCOL.md, "Access control", which shows this output). Every
 * device, its MQTT user name being its device id (Mosquitto's %u; with `use_identity_as_username`, the
 * common name of its certificate), is split by direction: it writes only DEVICE_WRITES of its own subtree
 * and reads only DEVICE_READS of it and DEVICE_FLEET_READS, so it can neither publish as another device
 * nor read another's commands, nor publish its own commands, feedback, OTA offers or blocks (which would
 * forge them to itself). The cloud gets exactly the topics it reads and writes (protocol/PROTOCOL.md,
 * "Roles"); tools and gateways get theirs. The cloud's answers to devices go to their own `cmd/res`,
 * `kb/res` and `cloud/res/{id}`; nothing a message says makes the cloud write elsewhere. Devices may write
 * `cloud/req` (ping, kb.entries) but not `cloud/ops/req`, where the cloud serves what acts on the fleet
 * (intent.set, kb.reload, …): only tool users get it, so the ACL, not an unauthenticated `from`, decides
 * who may act on other devices. User names must be ids (1-64 of `A-Z a-z 0-9 . _ -`), so no name can add a
 * line to the file.
 */
export async function mosquittoAcl(options: AclOptions): Promise<string[]> {
  const { assertDeviceId } = await import('@akb/protocol');
  const user = (name: string): string => assertDeviceId(name);
  const lines = [
    '# Mosquitto ACL for akb (akb topics --acl). A device user name is its device id.',
    '# Every device, split by direction: it publishes its own status, telemetry, frames (link/tx; link/rx with the',
    '# in-process emulated channel), image metas, command answers, OTA block requests, progress and results and KB',
    '# requests; it reads its own commands, feedback, OTA offers and blocks and KB answers, and the fleet topics.',
    '# So it cannot publish as another device, read its commands, or forge its own commands, feedback or OTA offers.',
    '# It may ask the cloud on cloud/req (ping, kb.entries) and read the answers to it; never cloud/ops/req.',
    ...DEVICE_WRITES.map((t) => `pattern write akb/v1/dev/%u/${t}`),
    ...DEVICE_READS.map((t) => `pattern read akb/v1/dev/%u/${t}`),
    ...DEVICE_FLEET_READS.map((t) => `pattern read akb/v1/${t}`),
    'pattern write akb/v1/cloud/req',
    'pattern read akb/v1/cloud/res/%u',
    '',
    '# The cloud (akb-cloud --username): status, telemetry, metas, frames, KB requests, requests on cloud/req',
    '# and cloud/ops/req, command answers and OTA job states in; feedback, KB answers, forwarded commands,',
    '# answers on cloud/res, the KB announce and alarms out (alarms read back too: a restarted cloud resumes them).',
    `user ${user(options.cloudUser)}`,
    ...['status', 'telemetry', 'link/meta', 'link/rx', 'kb/req', 'cmd/res'].map((t) => `topic read akb/v1/dev/+/${t}`),
    ...['feedback', 'kb/res', 'cmd/req'].map((t) => `topic write akb/v1/dev/+/${t}`),
    'topic read akb/v1/cloud/req',
    'topic read akb/v1/cloud/ops/req',
    'topic write akb/v1/cloud/res/+',
    'topic write akb/v1/fleet/kb/announce',
    'topic readwrite akb/v1/alarm/+',
    'topic read akb/v1/ota/job/+',
  ];
  for (const tool of options.tools ?? []) {
    lines.push(
      '',
      '# A tool: operator requests to the cloud (answered on cloud/res/<user>; cloud/req by the patterns),',
      '# commands to devices, their status and telemetry, and OTA jobs (akb deploy): offers and blocks out,',
      '# block requests, progress and results in, the retained job state and aborts both ways; alarms in;',
      '# channel changes to an emulator (akb hil) and its answers.',
      `user ${user(tool)}`,
      'topic write akb/v1/cloud/ops/req',
      `topic read akb/v1/cloud/res/${user(tool)}`,
      'topic write akb/v1/dev/+/cmd/req',
      ...['cmd/res', 'status', 'telemetry'].map((t) => `topic read akb/v1/dev/+/${t}`),
      ...['offer', 'block'].map((k) => `topic write akb/v1/dev/+/ota/${k}`),
      ...['get', 'progress', 'result'].map((k) => `topic read akb/v1/dev/+/ota/${k}`),
      'topic readwrite akb/v1/ota/job/#',
      'topic read akb/v1/alarm/+',
      'topic write akb/v1/link/ctl/req',
      `topic read akb/v1/link/ctl/res/${user(tool)}`,
    );
  }
  for (const gateway of options.gateways ?? []) {
    lines.push(
      '',
      '# A channel emulator or radio gateway: frames from link/tx to link/rx; channel changes in, answers out.',
      `user ${user(gateway)}`,
      'topic read akb/v1/dev/+/link/tx',
      'topic write akb/v1/dev/+/link/rx',
      'topic read akb/v1/link/ctl/req',
      'topic write akb/v1/link/ctl/res/+',
    );
  }
  return lines;
}

export const topicsCommand = defineCommand({
  command: 'topics',
  describe: "Print a device's MQTT topics, or (--acl) a Mosquitto ACL file for devices, the cloud, tools and gateways",
  builder: (y) =>
    y
      .option('device', { type: 'string', describe: 'device id (needed without --acl)' })
      .option('acl', { type: 'boolean', default: false, describe: 'print a complete Mosquitto ACL file instead' })
      .option('cloud-user', { type: 'string', default: 'akb-cloud', describe: "with --acl: the cloud's MQTT user name" })
      .option('tool', { type: 'string', array: true, describe: 'with --acl: MQTT user name(s) of tools (akb CLI, dashboards)' })
      .option('gateway', { type: 'string', array: true, describe: 'with --acl: MQTT user name(s) of channel emulators or radio gateways' })
      .option('json', { type: 'boolean', default: false })
      .check((a) => {
        if (!a.acl && a.device === undefined) throw new Error('name a --device, or print the ACL with --acl');
        return true;
      }),
  run: async (args, io) => {
    if (args.acl) {
      for (const line of await mosquittoAcl({ cloudUser: args.cloudUser, tools: args.tool ?? [], gateways: args.gateway ?? [] })) io.out(line);
      return;
    }
    const { topics, filters, OTA_KINDS, KB_KINDS } = await import('@akb/protocol');
    const id = args.device!;
    const table: Record<string, string> = {
      status: topics.status(id),
      telemetry: topics.telemetry(id),
      'link/tx': topics.linkTx(id),
      'link/rx': topics.linkRx(id),
      'link/meta': topics.linkMeta(id),
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
