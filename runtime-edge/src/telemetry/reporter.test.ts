import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMessage, seededRandom, topics } from '@akb/protocol';
import { describe, expect, it } from 'vitest';
import { Channel, constantSnr, EmulatedLink } from '@akb/link';
import { MemoryBus } from '@akb/protocol/mqtt';
import { loadModelSet } from '@akb/jscc';
import { EdgePipeline } from '../pipeline/pipeline.js';
import { TelemetryReporter } from './reporter.js';
import { Thermometer } from './system.js';

const zoo = fileURLToPath(new URL('../../../models/zoo', import.meta.url));

describe('telemetry', () => {
  it('publishes valid samples: latency, action, SNR estimate, quality, resources, counters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'akb-tel-'));
    const thermal = join(dir, 'temp');
    await writeFile(thermal, '48250\n');
    const bus = new MemoryBus();
    const set = await loadModelSet(zoo, 'akb-k256');
    const link = await EmulatedLink.open({ deviceId: 'cam', channel: new Channel({ snr: constantSnr(9) }, seededRandom(1)), deliver: { kind: 'callback', onReceive: () => undefined } });
    const pipeline = await EdgePipeline.create({ deviceId: 'cam', set, link, sessionId: 77, policy: { mode: 'fixed:7' } });
    const health = { driver: 'serial', up: false, fault: { code: 'LINE_CLOSED', message: 'gone', ts: 5 }, symbolEncoding: 'int8' as const, packetsLost: 3 };
    const reporter = new TelemetryReporter({ transport: bus.client(), deviceId: 'cam', pipeline, temperaturePath: thermal, framesMalformed: () => 2, linkHealth: () => health });
    const empty = await reporter.publishNow();
    expect(empty).toMatchObject({ seq: 0, snrDb: null, latencyMs: {}, temperatureC: 48.25, counters: { framesSent: 0, framesMalformed: 2 }, link: health });
    const report = await pipeline.sendImage({ width: 64, height: 32, data: new Float32Array(3 * 64 * 32).fill(0.3) }, 'grey');
    link.receiveFeedback({ v: 1, session: 77, frameId: 1, ts: Date.now(), snrDb: 9.2, psnr: 24.5, erasures: { fragmentsExpected: 2, fragmentsLost: 1 }, kbVersion: pipeline.kbVersion, kbVersionMismatch: false });
    await reporter.publishNow();
    const sample = decodeMessage('telemetry', bus.log.filter((m) => m.topic === topics.telemetry('cam'))[1]!.payload);
    expect(sample).toMatchObject({
      seq: 1, session: 77, frameId: 1, snrDb: 9.2, quality: { psnr: 24.5 }, kbVersion: set.kb!.versionId,
      action: { id: 7, ratePrefix: 256, power: 1 },
      counters: { framesSent: 2, fragmentsSent: report.fragments, fragmentsLost: 1, feedbackReceived: 1, bytesSent: report.bytes },
    });
    expect(sample.latencyMs.encode).toBeGreaterThan(0);
    expect(sample.memoryRssBytes).toBeGreaterThan(0);
    expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(bus.log.every((m) => m.qos === 1)).toBe(true);
    expect(await new Thermometer(join(dir, 'none')).read()).toBeUndefined();
    await reporter.stop();
    await pipeline.close();
    await rm(dir, { recursive: true, force: true });
  });
});
