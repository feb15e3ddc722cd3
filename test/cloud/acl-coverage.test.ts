/**
 * The cloud and the ACL `akb topics --acl` prints agree: every filter the cloud subscribes to and every
 * topic it publishes to, through all it does (start, a KB request, an intent forwarded to a device, an
 * image decoded with feedback, images.recent, stop), is granted to the akb-cloud user. A transport that
 * records each call stands between the cloud and an in-memory bus. The broker suite
 * (test/broker/acl.test.ts) shows the same on Mosquitto for the operations that cross devices.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, topics, type IntentMessage } from '@akb/protocol';
import { MemoryBus, RpcClient, RpcServer, topicMatches, type MqttTransport } from '@akb/protocol/mqtt';
import { loadModelSet, type ModelSet } from '@akb/jscc';
import { CloudService } from '@akb/cloud';
import { topicsCommand } from '../../toolkit/src/commands/topics.js';
import { SetSessions, loadFixtureImages, sendImage } from '../../runtime-cloud/src/testing.js';
import { runAkbCommand } from './support.js';

/** What user `user` may read and write under a Mosquitto ACL text (topic lines of its section, and patterns). */
function grants(acl: string, user: string): { read: string[]; write: string[] } {
  const read: string[] = [];
  const write: string[] = [];
  let current: string | undefined;
  for (const raw of acl.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [kind, a, b] = line.split(/\s+/);
    if (kind === 'user') current = a;
    const access = b === undefined ? 'readwrite' : a!;
    const topic = (b ?? a)!.replace('%u', user);
    if (kind === 'pattern' || (kind === 'topic' && current === user)) {
      if (access.includes('read')) read.push(topic);
      if (access.includes('write')) write.push(topic);
    }
  }
  return { read, write };
}

/** A filter is granted when an ACL topic equals it or matches it as a topic (Mosquitto checks reads per message). */
const covered = (allowed: readonly string[], filter: string): boolean => {
  const plain = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  return allowed.some((a) => a === plain || topicMatches(a, plain));
};

describe('the cloud stays within the akb-cloud user of akb topics --acl', () => {
  let set: ModelSet;
  let acl: { read: string[]; write: string[] };
  const subscribed: string[] = [];
  const published: string[] = [];

  beforeAll(async () => {
    set = await loadModelSet('models/zoo', 'akb-k256');
    acl = grants((await runAkbCommand(topicsCommand, ['topics', '--acl'])).out.join('\n'), 'akb-cloud');
  });
  it('subscribes and publishes only where the ACL lets it', async () => {
    // Thrown at it: everything the cloud does in a session; recorded: every subscribe and publish.
    const bus = new MemoryBus();
    const inner = bus.client();
    const recording: MqttTransport = {
      protocolVersion: 4,
      publish: (topic, payload, options) => (published.push(topic), inner.publish(topic, payload, options)),
      subscribe: (filter) => (subscribed.push(filter), inner.subscribe(filter)),
      unsubscribe: (filter) => inner.unsubscribe(filter),
      onMessage: (filter, handler) => inner.onMessage(filter, handler),
    };
    const cloud = await CloudService.attach(recording, { sets: [set], kbDir: 'models/zoo/akb-kb-k256', clientId: 'akb-cloud-1', decoder: { lane: 'inline', imageTimeoutMs: 300 } });
    const edge = new RpcServer(bus.client(), { requestTopic: topics.cmdReq('cam-01'), handlers: { 'intent.set': () => ({ applied: true }) } });
    await edge.start();
    const tool = new RpcClient(bus.client(), { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes('ops'), timeoutMs: 5000 });
    const intent: IntentMessage = { v: 1, id: 'i', ts: Date.now(), target: { scope: 'device', device: 'cam-01' }, quality: { metric: 'psnr', min: 20 }, bandwidth: { maxSymbolsPerFrame: 256 }, priority: 'bandwidth' };
    expect(await tool.request('intent.set', intent)).toMatchObject({ forwarded: [{ device: 'cam-01', status: 'ok' }] });
    const kb = new RpcClient(bus.client(), { requestTopic: topics.kb('cam-01', 'req'), replyTopic: topics.kb('cam-01', 'res') });
    await kb.request('kb.entries', { kbVersion: set.kb!.versionId, offset: 0, count: 1 });
    const [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    const sent = await sendImage(sessions, fx, { width: 32, height: 32, session: 1, image: 0, firstFrameId: 0, snrDb: 8, actionId: 7, seed: 1 });
    const edgeSide = bus.client();
    await edgeSide.publish(topics.linkMeta('cam-01'), encodeMessage('image-meta', sent.meta));
    for (const f of sent.tiles[0]!.fragments) await edgeSide.publish(topics.linkRx('cam-01'), f);
    await expect.poll(async () => (await tool.request<{ total: number }>('images.recent')).total, { timeout: 8000 }).toBe(1);
    await cloud.stop();
    await sessions.release();

    expect(subscribed).toContain(topics.cmdRes('cam-01'));
    expect(published).toEqual(expect.arrayContaining([topics.cmdReq('cam-01'), topics.kb('cam-01', 'res'), topics.feedback('cam-01'), topics.cloudRes('ops'), topics.kbAnnounce()]));
    expect(subscribed.filter((f) => !covered(acl.read, f))).toEqual([]);
    expect(published.filter((t) => !covered(acl.write, t))).toEqual([]);
  }, 60_000);
});
