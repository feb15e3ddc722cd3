/**
 * Thumbnails from the real decoder: a CloudService decoding akb-k256 on the embedded broker receives an
 * image of 96 x 64 pixels (6 tiles) through MQTT; its hub gets an `image` event whose PNG decodes to the
 * reconstruction's size and keeps it as the device's latest. Then a 768 x 512 image (kodim23, 384 tiles)
 * comes out at 256 x 171.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { decodeImage, loadModelSet, type ModelSet } from '@akb/jscc';
import { CloudService } from '../../runtime-cloud/src/control/service.js';
import type { FleetEvent } from '../../runtime-cloud/src/telemetry/hub.js';
import { SetSessions, loadFixtureImages, sendImage, type FixtureImages, type SentImage } from '../../runtime-cloud/src/testing.js';
import { startAedes, uniqueId, type AedesHandle } from '../support/index.js';

type ImageFleetEvent = Extract<FleetEvent, { kind: 'image' }>;

describe('dashboard thumbnails from the decoder', () => {
  let broker: AedesHandle;
  let cloud: CloudService;
  let edge: AkbMqttClient;
  let set: ModelSet;
  let sessions: SetSessions;
  let fx: FixtureImages;
  const images: ImageFleetEvent[] = [];

  beforeAll(async () => {
    broker = await startAedes();
    set = await loadModelSet('models/zoo', 'akb-k256');
    cloud = await CloudService.start({ brokerUrl: broker.url, clientId: uniqueId('cloud'), sets: [set], kbDir: 'models/zoo/akb-kb-k256' });
    cloud.hub.events.on((e) => {
      if (e.kind === 'image') images.push(e);
    });
    edge = await connectMqtt({ url: broker.url, clientId: uniqueId('edge') });
    [sessions, fx] = await Promise.all([SetSessions.create(set), loadFixtureImages()]);
  }, 120_000);
  afterAll(async () => {
    await sessions?.release();
    await cloud?.stop();
    await edge?.close({ force: true });
    await broker?.close();
  });

  const send = async (device: string, sent: SentImage): Promise<void> => {
    await edge.publish(topics.linkMeta(device), encodeMessage('image-meta', sent.meta), { qos: 1 });
    for (const t of sent.tiles) for (const f of t.fragments) await edge.publish(topics.linkRx(device), f);
  };
  const imageOf = async (device: string): Promise<ImageFleetEvent> => {
    await expect.poll(() => images.some((e) => e.device === device), { timeout: 60_000 }).toBe(true);
    return images.find((e) => e.device === device)!;
  };

  it('publishes a PNG of the reconstruction at its own size when it is small', async () => {
    const sent = await sendImage(sessions, fx, { width: 96, height: 64, session: 1, image: 0, firstFrameId: 0, name: 'small.png', snrDb: 8, actionId: 7, seed: 1 });
    await send('cam-small', sent);
    const e = await imageOf('cam-small');
    expect([e.image.width, e.image.height, e.image.name, e.image.modelSet, e.image.complete]).toEqual([96, 64, 'small.png', set.name, true]);
    const png = await decodeImage(e.image.png);
    expect([png.width, png.height]).toEqual([96, 64]);
    expect(cloud.hub.device('cam-small')!.image).toBe(e.image);
  }, 90_000);

  it('shrinks a large one to 256 px on its longer side', async () => {
    const original = await decodeImage(await readFile('models/samples/kodak/kodim23.png'), 'kodim23.png');
    const sent = await sendImage(sessions, fx, { width: 768, height: 512, original, session: 2, image: 0, firstFrameId: 100, name: 'kodim23.png', snrDb: 8, actionId: 10, seed: 7 });
    await send('cam-large', sent);
    const e = await imageOf('cam-large');
    const png = await decodeImage(e.image.png);
    expect([png.width, png.height]).toEqual([256, 171]);
    expect(e.image.png.byteLength).toBeLessThan(256 * 171 * 4);
  }, 120_000);
});
