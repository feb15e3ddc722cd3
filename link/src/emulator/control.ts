/**
 * Channel control (protocol 1.2): `channel.set` and `channel.get` on `akb/v1/link/ctl/req`, answered on
 * `akb/v1/link/ctl/res/{from}` by the protocol's RpcServer and reply rule. A sweep changes the SNR of a
 * running emulator with it, so no point needs a restart (`akb hil run`, `akb link emulate`).
 *
 * Who may change the channel: only tools. A request without `from` has no reply topic and is refused
 * unanswered before any handler runs (a device's firmware has no reason to send one); on a broker with
 * ACLs, `akb topics --acl` grants the request topic to tools and gateways only. Bad args answer
 * BAD_REQUEST naming the field. A `channel.set` for a device this emulator does not serve (it serves one
 * with `--device`) answers NOT_SERVED.
 *
 * What it controls is a `ChannelTarget`: a ChannelEmulator is one; an IQ channel (a GNU Radio flowgraph
 * taking `noise <voltage>` on stdin, or the IqRelay in Node) is another, through a small adapter
 * (toolkit/src/hil/runner/links/sdr-udp.ts), so a sweep's channel.set reaches the samples too.
 */
import { AkbError, CHANNEL_GET_OP, CHANNEL_SET_OP, ChannelGetArgs, ChannelSetArgs, topics } from '@akb/protocol';
import { RpcServer, type MqttTransport } from '@akb/protocol/mqtt';

/** What channel.set and channel.get act on (a ChannelEmulator is one). */
export interface ChannelTarget {
  /** The one device served, or undefined for every device. */
  readonly device: string | undefined;
  /** Pins the SNR of `device`, or of every device when absent; returns the devices changed. */
  setSnr(snrDb: number, device?: string): string[] | Promise<string[]>;
  snrState(device?: string, limit?: number): { defaultSnrDb: number | undefined; devices: { device: string; snrDb: number | undefined; pinned: boolean }[] };
}

/** Most devices a `channel.get` lists (protocol 1.2). */
export const CHANNEL_GET_MAX_DEVICES = 1000;

export interface ChannelControlOptions {
  client: MqttTransport;
  /** What the requests change: a ChannelEmulator, or any other ChannelTarget. */
  emulator: ChannelTarget;
  /** Told about dropped requests and failed answers, for logging. */
  onError?: (error: unknown, what: string) => void;
  /** Told after every SNR change (e.g. to log it). */
  onSet?: (change: { devices: string[]; all: boolean; snrDb: number; from: string | undefined }) => void;
}

export interface ChannelSetData {
  devices: string[];
  all: boolean;
  snrDb: number;
}

export interface ChannelGetData {
  default: { snrDb: number | null };
  devices: { device: string; snrDb: number | null; pinned: boolean }[];
}

function parseArgs<T>(schema: { safeParse: (v: unknown) => { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, args: unknown, op: string): T {
  const r = schema.safeParse(args ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue && issue.path.length > 0 ? `args.${issue.path.map(String).join('.')}: ` : 'args: ';
  throw new AkbError('BAD_REQUEST', `${op}: ${path}${issue?.message ?? 'invalid'}`, {
    hint: op === CHANNEL_SET_OP ? 'send {"snrDb": -50..60, "device"?: id}' : 'send {"device"?: id} or no args',
  });
}

/** Serves channel.set/get for one emulator until stopped. */
export class ChannelControl {
  private constructor(private readonly server: RpcServer) {}

  static async start(options: ChannelControlOptions): Promise<ChannelControl> {
    const { emulator } = options;
    const server = new RpcServer(options.client, {
      requestTopic: topics.linkCtlReq(),
      accept: (from) => from !== undefined,
      onError: (e, c) => options.onError?.(e, c.what),
      handlers: {
        [CHANNEL_SET_OP]: async (args, ctx): Promise<ChannelSetData> => {
          const a = parseArgs(ChannelSetArgs, args, CHANNEL_SET_OP);
          const served = emulator.device;
          if (a.device !== undefined && served !== undefined && a.device !== served) {
            throw new AkbError('NOT_SERVED', `this emulator serves only ${served}, not ${a.device}`, {
              hint: `send no device, or ${served}`,
            });
          }
          const devices = await emulator.setSnr(a.snrDb, a.device);
          const data = { devices, all: a.device === undefined, snrDb: a.snrDb };
          options.onSet?.({ ...data, from: ctx.from });
          return data;
        },
        [CHANNEL_GET_OP]: (args): ChannelGetData => {
          const a = parseArgs(ChannelGetArgs, args, CHANNEL_GET_OP);
          const state = emulator.snrState(a.device, CHANNEL_GET_MAX_DEVICES);
          return {
            default: { snrDb: state.defaultSnrDb ?? null },
            devices: state.devices.map((d) => ({ device: d.device, snrDb: d.snrDb ?? null, pinned: d.pinned })),
          };
        },
      },
    });
    await server.start();
    return new ChannelControl(server);
  }

  get stats(): RpcServer['stats'] {
    return this.server.stats;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
