/**
 * What fills the hub for the dashboard besides telemetry: OTA job states from a real broker (retained, a
 * clear, and hostile ones counted), and thumbnails of finished images (shrunk by area to 256 px, PNG).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeImage, type RgbImage } from '@akb/jscc';
import { topics } from '@akb/protocol';
import { Fanout, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { FleetHub, type FleetEvent } from '../../runtime-cloud/src/telemetry/hub.js';
import type { ImageResult } from '../../runtime-cloud/src/decode/images.js';
import { feedImages, watchOtaJobs } from '../../runtime-cloud/src/dashboard/feeds.js';
import { shrink } from '../../runtime-cloud/src/dashboard/thumbnail.js';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';
import { job } from './dashboard-fixtures.js';

async function until(test: () => boolean, what: string): Promise<void> {
  for (let i = 0; !test(); i++) {
    if (i > 500) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeBrokers('dashboard OTA job feed', (kind) => {
  let broker: BrokerHandle;
  let tool: AkbMqttClient;
  let cloud: AkbMqttClient;
  beforeAll(async () => {
    broker = await kind.start();
    tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
    cloud = await connectMqtt({ url: broker.url, clientId: uniqueId('cloud') });
  });
  afterAll(async () => {
    await tool?.close({ force: true });
    await cloud?.close({ force: true });
    await broker?.close();
  });

  it('publishes retained job states as job events, a cleared topic as null; hostile ones are counted', async () => {
    await tool.publish(topics.otaJob('roll-1'), JSON.stringify(job('roll-1')), { qos: 1, retain: true });
    const hub = new FleetHub();
    const events: FleetEvent[] = [];
    hub.events.on((e) => void events.push(e));
    const errors: string[] = [];
    const feed = await watchOtaJobs(cloud, hub, (_e, topic) => errors.push(topic));
    try {
      // The retained state arrives on subscribing.
      await until(() => hub.listJobs().length === 1, 'the retained job');
      await tool.publish(topics.otaJob('roll-1'), JSON.stringify(job('roll-1', Date.now(), 'halted: 1 of 2 failed')), { qos: 1, retain: true });
      await until(() => hub.listJobs()[0]?.state === 'halted', 'the halted state');
      // Thrown at it: not JSON, a state of another job than its topic, a schema violation, the abort topic.
      await tool.publish(topics.otaJob('roll-2'), '{not json', { qos: 1 });
      await tool.publish(topics.otaJob('roll-3'), JSON.stringify(job('roll-1')), { qos: 1 });
      await tool.publish(topics.otaJob('roll-4'), JSON.stringify({ ...job('roll-4'), devices: [] }), { qos: 1 });
      await tool.publish(topics.otaJobAbort('roll-1'), JSON.stringify({ v: 1, job: 'roll-1', ts: Date.now() }), { qos: 1 });
      await until(() => feed.counters.jobsMalformed === 3, 'three malformed job states');
      expect(errors).toEqual([topics.otaJob('roll-2'), topics.otaJob('roll-3'), topics.otaJob('roll-4')]);
      // Clearing the retained state (an empty retained message) removes the job.
      await tool.publish(topics.otaJob('roll-1'), '', { qos: 1, retain: true });
      await until(() => hub.listJobs().length === 0, 'the cleared job');
      expect(events.filter((e) => e.kind === 'job').map((e) => (e.kind === 'job' ? (e.message?.state ?? null) : ''))).toEqual(['running', 'halted', null]);
      expect(feed.counters.jobs).toBe(2);
    } finally {
      await feed.stop();
    }
  });
});

function gradient(width: number, height: number): RgbImage {
  const data = new Float32Array(3 * width * height);
  const n = width * height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] = x / (width - 1);
      data[n + y * width + x] = y / (height - 1);
      data[2 * n + y * width + x] = (x + y) % 2; // a checkerboard: averages to 0.5
    }
  }
  return { width, height, data };
}

it('shrinks by area to at most 256 px a side, aspect kept; small images stay as they are', () => {
  const big = shrink(gradient(1024, 600));
  expect([big.width, big.height]).toEqual([256, 150]);
  // Each output pixel averages a 4 x 4 box: the checkerboard plane is 0.5 everywhere.
  const n = big.width * big.height;
  for (let i = 0; i < n; i++) expect(big.data[2 * n + i]).toBeCloseTo(0.5, 6);
  // The horizontal ramp stays a ramp: the first box averages x = 0..3 of 1023.
  expect(big.data[0]).toBeCloseTo(1.5 / 1023, 6);
  const small = gradient(32, 32);
  expect(shrink(small)).toBe(small);
  expect([shrink(gradient(3000, 10)).width, shrink(gradient(3000, 10)).height]).toEqual([256, 1]);
});

function result(device: string, name: string, image: RgbImage): ImageResult {
  const counts = { decoded: 1, erased: 0, lost: 0, 'kb-mismatch': 0, elsewhere: 0 };
  return {
    device,
    session: 1,
    image: 1,
    name,
    modelSet: 'akb-k256',
    kbVersion: 1,
    width: image.width,
    height: image.height,
    tile: 32,
    tiles: 1,
    reconstruction: image,
    tileResults: [],
    psnr: 28.5,
    meanSnrDb: 7,
    counts,
    complete: true,
    reason: 'complete',
    startedAt: 1,
    finishedAt: 2,
  };
}

it('publishes a PNG thumbnail of each finished image; a burst keeps the newest', async () => {
  const images = new Fanout<ImageResult>();
  const hub = new FleetHub();
  const seen: string[] = [];
  hub.events.on((e) => {
    if (e.kind === 'image') seen.push(e.image.name ?? '');
  });
  const feed = feedImages(images, hub);
  // Thrown at it: five images at once while the first is being encoded.
  for (let i = 0; i < 5; i++) images.emit(result('cam-01', `burst-${i}`, gradient(600, 400)));
  await until(() => seen.includes('burst-4'), 'the newest image of the burst');
  expect(seen).toEqual(['burst-0', 'burst-4']);
  expect(feed.counters.imagesSkipped).toBe(3);
  const state = hub.device('cam-01')!;
  expect(state.image!.psnr).toBe(28.5);
  const png = await decodeImage(state.image!.png);
  expect([png.width, png.height]).toEqual([256, 171]);
  await feed.stop();
  expect(images.size).toBe(0);
});
