/**
 * The local rig: an edge pipeline in this process, its link path (links/: the channel emulator by default,
 * or an IQ channel and SDR gateway, or a modem simulator and radio gateway, each with its channel control)
 * and a cloud decoder, all over the run's broker, as toolkit/src/demo/loop-demo.ts wires them. The SNR
 * changes through channel.set on akb/v1/link/ctl/req like any tool would send it, never by calling the
 * emulator or the IQ channel.
 */
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import type { LinkDriver, SigmfRecorder } from '@akb/link';
import { EdgePipeline } from '@akb/edge';
import { CloudDecoder } from '@akb/cloud';
import type { ModelSet, RgbImage } from '@akb/jscc';
import { demoBirth } from '../../demo/frames-demo.js';
import type { ChannelPlan, LinkPlan } from '../plan.js';
import type { PlanImage } from '../images.js';
import { precisionError } from '../models.js';
import type { Precision } from '../results.js';
import { ResultBox, channelSetter, decodeMs, type HilBroker, type Rig, type RigSend } from './rig.js';
import { startLinkPath, type LinkPath } from './links/index.js';

export { channelConfig } from './links/index.js';

export interface LocalRigOptions {
  broker: HilBroker;
  device: string;
  set: ModelSet;
  policy: string;
  kb: 'on' | 'off';
  channel: ChannelPlan & { id: string };
  /** How the edge reaches the cloud (default emulated). */
  link?: LinkPlan;
  seed: number;
  /** The encoder's precision (an int8/fp16 encoder the backend cannot load is PRECISION_UNSUPPORTED). */
  precision: Precision;
  /** Originals by image name: the cloud's references. */
  references: ReadonlyMap<string, RgbImage>;
  recorder?: SigmfRecorder;
  imageTimeoutMs?: number;
}

/** Bytes of frames an image is given time on air for (a 32x32 image's float32 frames are ~2 KiB; int8 half). */
const AIR_SLACK_BYTES = 8192;

/**
 * Extra time the cloud waits for an image's frames on a slow link: the (scaled) time on air of
 * AIR_SLACK_BYTES at the link's nominal byte rate (serial modems); 0 for links without one.
 */
function airSlackMs(link: LinkDriver, plan: LinkPlan | undefined): number {
  const bytesPerSecond = link.capabilities.rate?.bytesPerSecond;
  if (bytesPerSecond === undefined || !(bytesPerSecond > 0)) return 0;
  const scale = plan?.driver === 'serial' ? plan.airtimeScale : 1;
  return Math.ceil((1000 * AIR_SLACK_BYTES) / bytesPerSecond / scale);
}

export async function startLocalRig(o: LocalRigOptions): Promise<Rig> {
  const clients: AkbMqttClient[] = [];
  const connect = async (role: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ ...o.broker, clientId: `${o.device}-${role}`.slice(0, 64) });
    clients.push(c);
    return c;
  };
  const box = new ResultBox();
  let cloud: CloudDecoder | undefined;
  let path: LinkPath | undefined;
  let edge: EdgePipeline | undefined;
  const close = async (): Promise<void> => {
    await edge?.close().catch(() => undefined);
    // The pipeline closes the link; without a pipeline nobody else will.
    if (edge === undefined) await path?.link.close().catch(() => undefined);
    await path?.close().catch(() => undefined);
    await cloud?.stop().catch(() => undefined);
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
  };
  try {
    const edgeClient = await connectDevice({ ...o.broker, deviceId: o.device, birth: (session) => demoBirth(o.device, session) });
    clients.push(edgeClient);
    path = await startLinkPath({
      link: o.link ?? { driver: 'emulated' }, device: o.device, channel: o.channel, seed: o.seed, edgeClient, connect,
      ...(o.recorder ? { recorder: o.recorder } : {}),
    });
    const link = path.link;
    const imageTimeoutMs = (o.imageTimeoutMs ?? 1500) + airSlackMs(link, o.link);
    cloud = await CloudDecoder.start({
      client: await connect('cloud'),
      sets: [o.set],
      lane: 'inline',
      imageTimeoutMs,
      references: (name) => Promise.resolve(o.references.get(name)),
      onImage: (r) => box.put(`${r.session}/${r.image}`, r),
    });
    const setSnr = channelSetter(await connect('tool'), `${o.device}-tool`.slice(0, 64), o.device);
    try {
      edge = await EdgePipeline.create({
        deviceId: o.device,
        set: o.set,
        link,
        transport: edgeClient,
        // Greedy choices: a sweep measures the policy, not its exploration.
        policy: { mode: o.policy as 'dqn', seed: o.seed, epsilon: 0 },
        // A set without a source KB has nothing to withhold (the plan's kb is ignored for it).
        sourceKb: o.set.kb !== undefined && o.set.prior !== 'global-mean' ? o.kb : 'on',
      });
    } catch (e) {
      // The encoder's sessions are made here: a quantized one the backend cannot load is the precision's fault.
      if (o.precision !== 'float' && (e as { code?: string }).code === 'NO_BACKEND') throw precisionError(o.precision, o.set.name, e);
      throw e;
    }
    const pipeline = edge;
    const timeoutMs = imageTimeoutMs + 20_000;
    // The edge's choices and its SNR estimate (an AKB encoder's snr_db input) come from the receiver's
    // feedback: the next image waits until this one's has come back (one feedback per frame the cloud
    // decoded), as a device sending one image after another would. A Deep JSCC set with a fixed action
    // reads no feedback, so nothing is waited for.
    const learned = !o.policy.startsWith('fixed:') || o.set.kind !== 'deepjscc';
    let feedbackSeen = 0;
    let feedbackWanted = 0;
    let feedbackWake: (() => void) | undefined;
    pipeline.onFeedback(() => {
      feedbackSeen++;
      if (feedbackSeen >= feedbackWanted) feedbackWake?.();
    });
    const awaitFeedback = async (frames: number): Promise<number> => {
      feedbackWanted += frames;
      if (!learned || feedbackSeen >= feedbackWanted) return 0;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        feedbackWake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      feedbackWake = undefined;
      // Whatever did not come in time is not waited for again.
      feedbackWanted = Math.min(feedbackWanted, feedbackSeen);
      return performance.now() - t0;
    };
    const linkPath = path;
    return {
      device: o.device,
      setSnr,
      close,
      linkCounters: () => linkPath.counters(),
      send: async (img: PlanImage): Promise<RigSend> => {
        const sentAt = Date.now();
        const t0 = performance.now();
        const report = await pipeline.sendImage(img.image, img.name);
        const result = await box.wait(`${pipeline.sessionId}/${report.image}`, timeoutMs);
        const total = performance.now() - t0;
        const ms = report.ms;
        const decode = decodeMs(result);
        const answered = result === undefined ? 0 : result.tileResults.filter((t) => t.status === 'decoded' || t.status === 'erased').length;
        const feedbackWaitMs = await awaitFeedback(answered);
        return {
          channelUses: report.channelUses,
          tiles: report.tiles,
          actions: Object.fromEntries(Object.entries(report.actions).map(([k, v]) => [k, v])),
          latencyMs: {
            encode: ms.tile + ms.embed + ms.encode,
            policy: ms.policy,
            send: ms.frame + ms.send,
            ...(result ? { channel: Math.max(0, total - ms.total - (decode ?? 0)), decode: decode ?? 0, total } : {}),
          },
          result,
          sentAt,
          feedbackWaitMs,
        };
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
