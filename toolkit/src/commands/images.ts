/**
 * `akb images`: the cloud's recent decoded images (the `images.recent` operation on akb/v1/cloud/ops/req,
 * paged: each answer holds at most 50 summaries, so any number of large images stays under the message
 * limit), as a table or as JSON.
 */
import type { MqttTlsOptions } from '@akb/protocol/mqtt';
import { defineCommand } from './define.js';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';
import { emit, type Io } from '../run-command.js';
import type { ImageRow } from '@akb/cloud';

export interface ImagesOptions {
  broker: string;
  device?: string;
  limit: number;
  offset: number;
  json: boolean;
  clientId: string;
  username?: string;
  password?: string;
  protocolVersion: 4 | 5;
  timeoutMs: number;
  /** TLS material for mqtts:// (tls-flags.ts). */
  tls?: MqttTlsOptions;
}

/** The rows of the table (or the JSON) `akb images` prints. */
export async function listImages(o: ImagesOptions, io: Io): Promise<void> {
  const { topics, AkbError } = await import('@akb/protocol');
  const { connectMqtt, RpcClient } = await import('@akb/protocol/mqtt');
  const { ImagesRecentPage, MAX_IMAGES_PAGE } = await import('@akb/cloud');
  // An operator operation: on cloud/ops/req, which the ACL grants tool users (akb topics --acl --tool <user>).
  // The cloud answers on cloud/res/{from}; the ACL lets a tool read cloud/res/<its user name>.
  const from = o.username ?? o.clientId;
  const client = await connectMqtt({
    url: o.broker, clientId: o.clientId, username: o.username, password: o.password, protocolVersion: o.protocolVersion, reconnectPeriodMs: 0, ...(o.tls ? { tls: o.tls } : {}),
  });
  const rpc = new RpcClient(client, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes(from), from, timeoutMs: o.timeoutMs });
  const images: ImageRow[] = [];
  let total = 0;
  try {
    for (let offset: number | null = o.offset; offset !== null && images.length < o.limit; ) {
      const args = { device: o.device, offset, limit: Math.min(MAX_IMAGES_PAGE, o.limit - images.length) };
      const answer = await rpc.request('images.recent', args);
      const page = ImagesRecentPage.safeParse(answer);
      if (!page.success) throw new AkbError('BAD_RESPONSE', `the cloud's images.recent answer is not a page of images: ${page.error.issues[0]?.message ?? ''}`, { hint: 'is the cloud older than this akb? (images.recent is paged since 0.1)' });
      images.push(...page.data.images);
      total = page.data.total;
      offset = page.data.next;
    }
  } finally {
    await rpc.stop().catch(() => undefined);
    await client.close({ force: true });
  }
  emit(io, o.json, { total, images }, () => {
    if (images.length === 0) return [`no recent images${o.device === undefined ? '' : ` of ${o.device}`} at the cloud`];
    const rows = images.map((r) => [
      new Date(r.finishedAt).toISOString().slice(11, 19),
      r.device,
      String(r.session),
      String(r.image),
      r.name ?? '-',
      `${r.width}x${r.height}`,
      String(r.tiles),
      String(r.counts.decoded + r.counts.erased + r.counts['kb-mismatch']),
      String(r.counts.lost),
      r.psnr === null ? '-' : r.psnr.toFixed(2),
      r.meanSnrDb === null ? '-' : r.meanSnrDb.toFixed(2),
      r.reason,
    ]);
    return [...table(['finished', 'device', 'session', 'image', 'name', 'size', 'tiles', 'received', 'lost', 'psnr dB', 'snr dB', 'reason'], rows), `${images.length} of ${total} recent image(s), newest first`];
  });
}

/** Columns padded to their widest cell; numbers right-aligned. */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = head.map((_, i) => rows.every((r) => /^-?[\d.]+$|^-$/.test(r[i]!)));
  const line = (cells: string[]): string => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

export const imagesCommand = defineCommand({
  command: 'images',
  describe: "The cloud's recently decoded images: tiles received and lost, PSNR, SNR (images.recent, paged)",
  builder: (y) =>
    y
      .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (env AKB_BROKER)' })
      .option('device', { type: 'string', describe: 'only the images of this device' })
      .option('limit', { type: 'number', default: 20, describe: 'most images to show (newest first)' })
      .option('offset', { type: 'number', default: 0, describe: 'skip this many of the newest' })
      .option('json', { type: 'boolean', default: false, describe: 'print {total, images} as JSON' })
      .option('client-id', { type: 'string', describe: 'MQTT client id, and `from` unless --username (default akb-images-<pid>)' })
      .option('username', { type: 'string', describe: 'MQTT user name; also the `from` the cloud answers to (cloud/res/<user>)' })
      .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
      .option('mqtt5', { type: 'boolean', default: false })
      .options(TLS_OPTIONS)
      .option('timeout', { type: 'number', default: 5, describe: 'seconds to wait for each answer' })
      .check((a) => {
        if (!(Number.isInteger(a.limit) && a.limit >= 1 && a.limit <= 10_000)) throw new Error('--limit must be an integer from 1 to 10000');
        if (!(Number.isInteger(a.offset) && a.offset >= 0)) throw new Error('--offset must be a non-negative integer');
        if (!(a.timeout > 0 && a.timeout <= 600)) throw new Error('--timeout must be in (0, 600] seconds');
        return true;
      }),
  run: async (args, io) => {
    const { assertDeviceId } = await import('@akb/protocol');
    const clientId = args.clientId ?? `akb-images-${process.pid}`;
    for (const id of [clientId, args.username, args.device]) if (id !== undefined) assertDeviceId(id);
    await listImages(
      {
        broker: args.broker,
        device: args.device,
        limit: args.limit,
        offset: args.offset,
        json: args.json,
        clientId,
        username: args.username,
        password: args.passwordEnv === undefined ? undefined : process.env[args.passwordEnv],
        protocolVersion: args.mqtt5 ? 5 : 4,
        timeoutMs: args.timeout * 1000,
        ...(await tlsFromArgs(args.broker, args)),
      },
      io,
    );
  },
});
