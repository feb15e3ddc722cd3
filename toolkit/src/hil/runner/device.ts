/**
 * The device rig: a device running akb-edge with the `ingest` source, over the plan's broker. Before the
 * sweep the device must answer a ping within its `pingTimeoutMs` (else DeviceSilentError, exit code 2).
 * Each image goes as `image.send` on its cmd/req (the file's own PNG/JPEG bytes); its frames pass through
 * an already running `akb link emulate` whose SNR the rig sets with channel.set for this device, and a
 * cloud decoder of the rig's own (the variant's model set) decodes them and measures them against the
 * originals. The device runs whatever models and policy it was started with: the variant names them.
 */
import { AkbError, topics } from '@akb/protocol';
import { connectMqtt, RpcClient, type AkbMqttClient } from '@akb/protocol/mqtt';
import { CloudDecoder } from '@akb/cloud';
import type { ModelSet, RgbImage } from '@akb/jscc';
import type { DeviceTarget } from '../plan.js';
import type { PlanImage } from '../images.js';
import { ResultBox, channelSetter, decodeMs, type HilBroker, type Rig, type RigSend } from './rig.js';

export interface DeviceRigOptions {
  broker: HilBroker;
  target: DeviceTarget;
  set: ModelSet;
  references: ReadonlyMap<string, RgbImage>;
  /** The tool's client id prefix (answers come on link/ctl/res/{from}). */
  toolId: string;
}

interface ImageSendData {
  image: number;
  tiles: number;
  channelUses: number;
  actions: Record<string, number>;
}

/** Asks the device for a ping; a device that never answers is a clear error (exit code 2). */
export async function pingDevice(rpc: RpcClient, device: string, timeoutMs: number): Promise<void> {
  try {
    await rpc.request('ping', undefined, { timeoutMs });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new AkbError(
      'DEVICE_SILENT',
      code === 'TIMEOUT' || code === undefined
        ? `device ${device} did not answer a ping on ${topics.cmdReq(device)} within ${timeoutMs} ms`
        : `device ${device} answered the ping with ${code}: ${(e as Error).message}`,
      { hint: 'start akb-edge on the device with --source ingest and the same broker, or raise targets[].pingTimeoutMs', exitCode: 2, cause: e },
    );
  }
}

export async function startDeviceRig(o: DeviceRigOptions): Promise<Rig> {
  const device = o.target.device;
  const clients: AkbMqttClient[] = [];
  let cloud: CloudDecoder | undefined;
  const close = async (): Promise<void> => {
    await cloud?.stop().catch(() => undefined);
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
  };
  try {
    const tool = await connectMqtt({ ...o.broker, clientId: `${o.toolId}-${device}`.slice(0, 64) });
    clients.push(tool);
    const rpc = new RpcClient(tool, { requestTopic: topics.cmdReq(device), replyTopic: topics.cmdRes(device), from: o.toolId });
    await pingDevice(rpc, device, o.target.pingTimeoutMs);
    const box = new ResultBox();
    const cloudClient = await connectMqtt({ ...o.broker, clientId: `${o.toolId}-cloud-${device}`.slice(0, 64) });
    clients.push(cloudClient);
    cloud = await CloudDecoder.start({
      client: cloudClient,
      sets: [o.set],
      lane: 'inline',
      imageTimeoutMs: 3000,
      references: (name) => Promise.resolve(o.references.get(name)),
      onImage: (r) => {
        if (r.device === device) box.put(String(r.image), r);
      },
    });
    const set = channelSetter(tool, o.toolId, device);
    const setSnr = async (snrDb: number): Promise<void> => {
      try {
        await set(snrDb);
      } catch (e) {
        throw new AkbError('NO_EMULATOR', `no channel emulator answered channel.set for ${device} on ${topics.linkCtlReq()} (${(e as Error).message})`, {
          hint: `run \`akb link emulate --broker ${o.broker.url}\` (it serves channel.set), or a gateway that does`,
          exitCode: 2,
          cause: e,
        });
      }
    };
    return {
      device,
      setSnr,
      close,
      send: async (img: PlanImage): Promise<RigSend> => {
        const sentAt = Date.now();
        const t0 = performance.now();
        const data = await rpc.request<ImageSendData>('image.send', { name: img.name, data: img.bytes.toString('base64') }, { timeoutMs: o.target.imageTimeoutMs });
        const send = performance.now() - t0;
        const result = await box.wait(String(data.image), o.target.imageTimeoutMs);
        const total = performance.now() - t0;
        const decode = decodeMs(result);
        return {
          channelUses: data.channelUses,
          tiles: data.tiles,
          actions: data.actions,
          latencyMs: { send, ...(result ? { channel: Math.max(0, total - send - (decode ?? 0)), decode: decode ?? 0, total } : {}) },
          result,
          sentAt,
        };
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
