/**
 * The local rig: an edge pipeline in this process, the channel emulator (with its channel control) and a
 * cloud decoder, all over the run's broker, as toolkit/src/demo/loop-demo.ts wires them. The SNR changes
 * through channel.set on akb/v1/link/ctl/req like any tool would send it, never by calling the emulator.
 */
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ChannelControl, ChannelEmulator, MqttLink, channelFactory, type ChannelConfig, type SigmfRecorder } from '@akb/link';
import { EdgePipeline } from '@akb/edge';
import { CloudDecoder } from '@akb/cloud';
import type { ModelSet, RgbImage } from '@akb/jscc';
import { demoBirth } from '../../demo/frames-demo.js';
import type { ChannelPlan } from '../plan.js';
import type { PlanImage } from '../images.js';
import { precisionError } from '../models.js';
import type { Precision } from '../results.js';
import { ResultBox, channelSetter, decodeMs, type Rig, type RigSend } from './rig.js';

export interface LocalRigOptions {
  url: string;
  device: string;
  set: ModelSet;
  policy: string;
  kb: 'on' | 'off';
  channel: ChannelPlan & { id: string };
  seed: number;
  /** The encoder's precision (an int8/fp16 encoder the backend cannot load is PRECISION_UNSUPPORTED). */
  precision: Precision;
  /** Originals by image name: the cloud's references. */
  references: ReadonlyMap<string, RgbImage>;
  recorder?: SigmfRecorder;
  imageTimeoutMs?: number;
}

/** The emulator's channel for a plan channel; the SNR starts at 10 dB and is pinned by channel.set. */
export function channelConfig(c: ChannelPlan): ChannelConfig {
  const fading =
    c.kind === 'rayleigh' ? { kind: 'rayleigh' as const }
    : c.kind === 'rician' ? { kind: 'rician' as const, kFactor: c.kFactor ?? 0 }
    : c.kind === 'gauss-markov' ? { kind: 'gauss-markov' as const, dopplerHz: c.dopplerHz ?? 1, symbolRateHz: c.symbolRateHz }
    : { kind: 'none' as const };
  return { snr: { kind: 'constant', snrDb: 10 }, fading, ...(c.loss ? { loss: c.loss } : {}) };
}

export async function startLocalRig(o: LocalRigOptions): Promise<Rig> {
  const clients: AkbMqttClient[] = [];
  const connect = async (role: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ url: o.url, clientId: `${o.device}-${role}`.slice(0, 64) });
    clients.push(c);
    return c;
  };
  const box = new ResultBox();
  let cloud: CloudDecoder | undefined;
  let emulator: ChannelEmulator | undefined;
  let control: ChannelControl | undefined;
  let edge: EdgePipeline | undefined;
  const close = async (): Promise<void> => {
    await edge?.close().catch(() => undefined);
    await control?.stop().catch(() => undefined);
    await emulator?.stop().catch(() => undefined);
    await cloud?.stop().catch(() => undefined);
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
  };
  try {
    cloud = await CloudDecoder.start({
      client: await connect('cloud'),
      sets: [o.set],
      lane: 'inline',
      imageTimeoutMs: o.imageTimeoutMs ?? 1500,
      references: (name) => Promise.resolve(o.references.get(name)),
      onImage: (r) => box.put(`${r.session}/${r.image}`, r),
    });
    const emuClient = await connect('channel');
    emulator = await ChannelEmulator.start({
      client: emuClient,
      device: o.device,
      keepOrder: true,
      // Random draws keyed by the channel's id, not the (per-process) device id: every variant meets the same
      // fading and noise sequence on a channel, run after run (common random numbers for a fair comparison).
      channelFor: (() => {
        const make = channelFactory(channelConfig(o.channel), o.seed);
        return () => make(o.channel.id);
      })(),
      ...(o.recorder ? { recorder: o.recorder } : {}),
    });
    control = await ChannelControl.start({ client: emuClient, emulator });
    const setSnr = channelSetter(await connect('tool'), `${o.device}-tool`.slice(0, 64), o.device);
    const edgeClient = await connectDevice({ url: o.url, deviceId: o.device, birth: (session) => demoBirth(o.device, session) });
    clients.push(edgeClient);
    const link = await MqttLink.open({ client: edgeClient, deviceId: o.device, mtu: 1024 });
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
    const timeoutMs = (o.imageTimeoutMs ?? 1500) + 20_000;
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
    return {
      device: o.device,
      setSnr,
      close,
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
