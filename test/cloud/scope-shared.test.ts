/**
 * A cloud scoped to named devices with a shared subscription, on Mosquitto: frames come through
 * `$share/<group>/akb/v1/dev/<id>/link/rx`, one filter per device named, so the broker sends nothing of
 * other devices (no out-of-scope count: nothing arrives to count).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeMessage, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { loadModelSet } from '@akb/jscc';
import { CloudService, DeviceScope, type ImageResult } from '@akb/cloud';
import { SetSessions, loadFixtureImages, sendImage, type SentImage } from '../../runtime-cloud/src/testing.js';
import { describeWithProgram, startMosquitto, uniqueId, type BrokerHandle } from '../support/index.js';

describeWithProgram('mosquitto', 'mosquitto', 'a scoped cloud with a shared subscription (Mosquitto)', () => {
  let broker: BrokerHandle;
  let cloud: CloudService;
  let edge: AkbMqttClient;
  let sent: SentImage;
  const results: ImageResult[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    const set = await loadModelSet('models/zoo', 'akb-k256');
    cloud = await CloudService.start({
      brokerUrl: broker.url, clientId: uniqueId('cloud'), sets: [set], scope: DeviceScope.parse('cam-a,cam-c'),
      decoder: { shared: true, group: 'scoped', lane: 'inline', imageTimeoutMs: 1000 },
    });
    cloud.decoder!.images.on((r) => results.push(r));
    edge = await connectMqtt({ url: broker.url, clientId: uniqueId('edge') });
    const [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
    sent = await sendImage(sessions, fx, { width: 64, height: 32, session: 3, image: 0, firstFrameId: 0, snrDb: 8, actionId: 7, seed: 3 });
    await sessions.release();
  });
  afterAll(async () => {
    await cloud?.stop();
    await edge?.close({ force: true });
    await broker?.close();
  });

  it('decodes the devices named and never receives the others', async () => {
    // Thrown at it: the same image from cam-a (named) and cam-b (not named).
    for (const d of ['cam-b', 'cam-a']) {
      await edge.publish(topics.linkMeta(d), encodeMessage('image-meta', sent.meta), { qos: 1 });
      for (const t of sent.tiles) for (const f of t.fragments) await edge.publish(topics.linkRx(d), f, { qos: 1 });
    }
    await expect.poll(() => results.map((r) => r.device), { timeout: 10_000 }).toEqual(['cam-a']);
    expect(results[0]!.counts.decoded).toBe(2);
    const s = cloud.decoder!.stats;
    expect([s.metasReceived, s.fragmentsReceived, s.outOfScope.frames, s.outOfScope.metas]).toEqual([1, 2, 0, 0]);
    expect(cloud.decoder!.frameFilters).toEqual(['$share/scoped/akb/v1/dev/cam-a/link/rx', '$share/scoped/akb/v1/dev/cam-c/link/rx']);
  });
});
