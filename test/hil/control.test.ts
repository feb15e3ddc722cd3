/**
 * Channel control over a real broker (aedes and Mosquitto): a tool pins the SNR of a running emulator with
 * channel.set and reads it back with channel.get; the relayed frames then carry the new SNR; bad args
 * answer BAD_REQUEST naming the field; a request without `from` (what a device would send) gets no answer
 * and changes nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fragmentSymbols, topics, CHANNEL_GET_OP, CHANNEL_SET_OP } from '@akb/protocol';
import { connectMqtt, RpcClient, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ChannelControl, ChannelEmulator, channelFactory, type ChannelGetData, type RelayOutcome } from '@akb/link';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

async function until(what: string, test: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeBrokers('channel control (channel.set / channel.get)', (kind) => {
  let broker: BrokerHandle;
  const clients: AkbMqttClient[] = [];
  let emulator: ChannelEmulator;
  let control: ChannelControl;
  let tool: RpcClient;
  const outcomes: RelayOutcome[] = [];
  const device = uniqueId('cam');
  const connect = async (prefix: string): Promise<AkbMqttClient> => {
    const c = await connectMqtt({ url: broker.url, clientId: uniqueId(prefix) });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await kind.start();
    const emu = await connect('emu');
    emulator = await ChannelEmulator.start({ client: emu, qos: 1, channelFor: channelFactory({ snr: { kind: 'constant', snrDb: 10 } }, 3) });
    emulator.outcomes.on((o) => void outcomes.push(o));
    control = await ChannelControl.start({ client: emu, emulator });
    const toolClient = await connect('tool');
    tool = new RpcClient(toolClient, { requestTopic: topics.linkCtlReq(), replyTopic: topics.linkCtlRes('hil-tool'), from: 'hil-tool' });
  });
  afterAll(async () => {
    await control?.stop().catch(() => undefined);
    await emulator?.stop();
    await Promise.allSettled(clients.map((c) => c.close({ force: true })));
    await broker?.close();
  });

  async function sendFrame(edge: AkbMqttClient, frameId: number): Promise<void> {
    const symbols = new Float32Array(64).fill(0.5);
    const meta = { deviceId: 1, sessionId: 1, frameId, kbVersion: 0, actionId: 0, timestampUs: 0 };
    for (const bytes of fragmentSymbols(meta, symbols, { dtype: 'float32', mtu: 4096 })) {
      await edge.publish(topics.linkTx(device), bytes, { qos: 1 });
    }
  }

  it('pins one device, then every device, and the relayed frames carry the SNR set', async () => {
    const edge = await connect('edge');
    await sendFrame(edge, 1);
    await until('first relay', () => outcomes.length >= 1);
    expect(outcomes[0]).toMatchObject({ kind: 'relayed', side: { snrDb: 10 } });

    const before = await tool.request<ChannelGetData>(CHANNEL_GET_OP, {});
    expect(before).toEqual({ default: { snrDb: null }, devices: [{ device, snrDb: 10, pinned: false }] });

    expect(await tool.request(CHANNEL_SET_OP, { device, snrDb: -3.5 })).toEqual({ devices: [device], all: false, snrDb: -3.5 });
    await sendFrame(edge, 2);
    await until('second relay', () => outcomes.length >= 2);
    expect(outcomes[1]).toMatchObject({ kind: 'relayed', side: { snrDb: -3.5 } });
    expect(await tool.request(CHANNEL_GET_OP, { device })).toEqual({ default: { snrDb: null }, devices: [{ device, snrDb: -3.5, pinned: true }] });

    expect(await tool.request(CHANNEL_SET_OP, { snrDb: 22 })).toEqual({ devices: [device], all: true, snrDb: 22 });
    await sendFrame(edge, 3);
    await until('third relay', () => outcomes.length >= 3);
    expect(outcomes[2]).toMatchObject({ kind: 'relayed', side: { snrDb: 22 } });
    // A device not seen yet starts at the default the last channel.set without device fixed.
    const other = uniqueId('cam');
    expect(await tool.request(CHANNEL_GET_OP, { device: other })).toEqual({ default: { snrDb: 22 }, devices: [{ device: other, snrDb: 22, pinned: true }] });
  });

  async function refusal(op: string, args: unknown): Promise<string> {
    try {
      await tool.request(op, args);
    } catch (e) {
      return `${(e as { code: string }).code}: ${(e as Error).message}`;
    }
    throw new Error('accepted');
  }

  it('answers bad args with BAD_REQUEST naming the field', async () => {
    // snrDb of 1000 dB: beyond the protocol's -50..60.
    expect(await refusal(CHANNEL_SET_OP, { snrDb: 1000 })).toMatch(/^BAD_REQUEST: .*args\.snrDb/);
    // snrDb missing.
    expect(await refusal(CHANNEL_SET_OP, { device })).toMatch(/^BAD_REQUEST: .*args\.snrDb/);
    // An unknown field.
    await expect(tool.request(CHANNEL_SET_OP, { snrDb: 3, gain: 2 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // A device id that is no device id.
    expect(await refusal(CHANNEL_GET_OP, { device: 'a/b#' })).toMatch(/^BAD_REQUEST: .*args\.device/);
    expect((await tool.request<ChannelGetData>(CHANNEL_GET_OP)).default.snrDb).toBe(22);
  });

  it('an emulator serving one device refuses channel.set for another (NOT_SERVED) and changes nothing', async () => {
    // The suite's emulator steps aside so that only the one-device emulator answers.
    await control.stop();
    const emu = await connect('emu-one');
    const served = uniqueId('cam');
    const single = await ChannelEmulator.start({ client: emu, device: served, channelFor: channelFactory({ snr: { kind: 'constant', snrDb: 4 } }, 3) });
    const own = await ChannelControl.start({ client: emu, emulator: single });
    try {
      const other = uniqueId('cam');
      expect(await refusal(CHANNEL_SET_OP, { device: other, snrDb: 1 })).toBe(`NOT_SERVED: this emulator serves only ${served}, not ${other}`);
      expect(await tool.request(CHANNEL_SET_OP, { device: served, snrDb: 1 })).toEqual({ devices: [served], all: false, snrDb: 1 });
      expect(await tool.request(CHANNEL_GET_OP)).toEqual({ default: { snrDb: null }, devices: [{ device: served, snrDb: 1, pinned: true }] });
    } finally {
      await own.stop();
      await single.stop();
      control = await ChannelControl.start({ client: clients[0]!, emulator });
    }
  });

  it('a request without from (as a device would send) is refused unanswered and changes nothing', async () => {
    const sneaky = await connect('sneaky');
    const answers: string[] = [];
    sneaky.onMessage(`${topics.linkCtlRes('hil-tool').replace(/\/hil-tool$/, '')}/+`, (m) => void answers.push(m.payload.toString()));
    await sneaky.subscribe(`${topics.linkCtlRes('hil-tool').replace(/\/hil-tool$/, '')}/+`, { qos: 1 });
    const refusedBefore = control.stats.refused;
    await sneaky.publish(topics.linkCtlReq(), JSON.stringify({ v: 1, id: 'x-1', op: CHANNEL_SET_OP, args: { snrDb: -40 } }), { qos: 1 });
    await until('the refusal', () => control.stats.refused > refusedBefore);
    expect(answers).toEqual([]);
    expect((await tool.request<ChannelGetData>(CHANNEL_GET_OP)).default.snrDb).toBe(22);
  });
});
