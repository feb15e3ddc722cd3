/**
 * A broker restart costs no telemetry: the edge daemon (akb-edge, a real process) publishes telemetry
 * at QoS 1 every 100 ms; Mosquitto (with persistence, so the operator's QoS 1 session survives) is
 * stopped for 1.5 s and started again. The samples published while it was down are queued by the edge's
 * client and delivered after it reconnects: the operator sees every sequence number, none missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeMessage, topics } from '@akb/protocol';
import { describeWithProgram, startMosquitto, uniqueId, type MosquittoHandle } from '../support/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describeWithProgram('mosquitto', 'mosquitto', 'telemetry across a broker restart', () => {
  let broker: MosquittoHandle;
  let edge: ChildProcess | undefined;
  let operator: MqttClient | undefined;
  let watch: string;
  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true });
    watch = await mkdtemp(join(tmpdir(), 'akb-telemetry-'));
  });
  afterAll(async () => {
    edge?.kill('SIGKILL');
    await operator?.endAsync(true);
    await broker?.close();
    await rm(watch, { recursive: true, force: true });
  });

  it('delivers every telemetry sample published while the broker was down (QoS 1, queued at the edge)', async () => {
    const device = uniqueId('tele').replace(/[^A-Za-z0-9._-]/g, '');
    const seqs: number[] = [];
    let late = 0;
    operator = await connectAsync(broker.url, { clientId: uniqueId('operator'), clean: false, reconnectPeriod: 200 });
    operator.on('message', (_t, payload) => {
      const m = decodeMessage('telemetry', payload);
      seqs.push(m.seq);
      if (Date.now() - m.ts > 700) late++; // sampled while the broker was down, delivered after
    });
    await operator.subscribeAsync(topics.telemetry(device), { qos: 1 });
    const args = ['runtime-edge/dist/main.js', '--broker', broker.url, '--device', device, '--models', 'models/zoo', '--set', 'deepjscc-r12-snr7', '--watch', watch, '--telemetry-ms', '100'];
    edge = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    await expect.poll(() => seqs.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
    const before = Math.max(...seqs);
    await broker.restart({ downMs: 1500 });
    // 1.5 s down at 10 samples/s: about 15 samples queued at the edge, then some more after the restart.
    await expect.poll(() => Math.max(...seqs), { timeout: 20_000 }).toBeGreaterThanOrEqual(before + 30);
    const got = new Set(seqs);
    const first = Math.min(...seqs);
    const last = Math.max(...seqs);
    const missing = [];
    for (let s = first; s <= last; s++) if (!got.has(s)) missing.push(s);
    expect(missing, `telemetry samples lost across the restart (seen ${first}..${last})`).toEqual([]);
    expect(late, 'samples queued at the edge during the outage').toBeGreaterThanOrEqual(5);
  }, 60_000);
});
