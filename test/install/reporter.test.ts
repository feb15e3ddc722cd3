/**
 * The agent's status reporter and probe runner against real brokers and processes. Thrown at them: a
 * broker port where nothing listens (one line, events still printed), a launcher that floods stdout with
 * 8 MiB of garbage before a valid line (only the tail is kept, the line still found), a launcher printing
 * `{"ok":false}` with exit 0, and one that is not executable.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, topics } from '@akb/protocol';
import { connectMqtt } from '@akb/protocol/mqtt';
import { StatusReporter, probeLineOf, runSlotProbe } from '@akb/edge/install';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';

let broker: AedesHandle;
let dir: string;

beforeAll(async () => {
  broker = await startAedes();
  dir = await mkdtemp(join(tmpdir(), 'akb-reporter-'));
});
afterAll(async () => {
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function launcher(name: string, body: string, mode = 0o755): Promise<string> {
  const slot = join(dir, name);
  await mkdir(join(slot, 'bin'), { recursive: true });
  await writeFile(join(slot, 'bin', 'akb-edge'), `#!/bin/sh\n${body}\n`);
  await chmod(join(slot, 'bin', 'akb-edge'), mode);
  return slot;
}

describe('StatusReporter', () => {
  it('publishes each event as a retained "updating" status a late subscriber still sees', async () => {
    const lines: string[] = [];
    const reporter = await StatusReporter.open({ deviceId: 'cam-r1', brokerUrl: broker.url, out: (l) => lines.push(l) });
    reporter.report({ phase: 'verifying', message: 'checking' });
    reporter.report({ phase: 'committed', slot: 'B', bundle: { name: 'akb-edge-x', version: '1.0.0' }, message: 'slot B committed' });
    await reporter.close();
    expect(reporter.published).toBe(2);
    expect(lines).toEqual(['akb-agent: verifying: checking', 'akb-agent: committed (slot B, akb-edge-x 1.0.0): slot B committed']);
    const late = await connectMqtt({ url: broker.url, clientId: uniqueId('late') });
    const inbox = await Inbox.open(late, topics.status('cam-r1'));
    const [retained] = await inbox.waitFor(1);
    expect(decodeMessage('status', retained!.payload)).toMatchObject({ state: 'updating', phase: 'committed', slot: 'B', bundle: { version: '1.0.0' } });
    await late.close();
  });

  // Thrown: a broker URL where nothing listens.
  it('says in one line that no broker is reachable, and still prints every event', async () => {
    const lines: string[] = [];
    const reporter = await StatusReporter.open({ deviceId: 'cam-r2', brokerUrl: `mqtt://127.0.0.1:${await freePort()}`, out: (l) => lines.push(l), connectTimeoutMs: 2000 });
    reporter.report({ phase: 'writing', slot: 'A', message: 'writing 3 files' });
    await reporter.close();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^akb-agent: no status reports \(.*\); installing anyway$/);
    expect(lines[1]).toBe('akb-agent: writing (slot A): writing 3 files');
  });
});

describe('runSlotProbe', () => {
  // Thrown: 8 MiB of garbage on stdout, then the probe's line.
  it('keeps only the tail of a flood and still finds the line', async () => {
    const slot = await launcher('flood', `head -c 8388608 /dev/zero | tr '\\0' 'x'; echo; echo '{"ok":true,"backend":"onnxruntime-web-wasm","symbols":5,"encodeMs":1}'`);
    const result = await runSlotProbe(slot, { deviceId: 'd', brokerUrl: 'mqtt://127.0.0.1:1' });
    expect(result).toEqual({ ok: true, detail: 'probe ok: onnxruntime-web-wasm encoded 5 symbols in 1 ms' });
  });

  // Thrown: exit 0 with {"ok":false}; a launcher without the execute bit.
  it('fails a probe that says ok:false, and one that cannot start', async () => {
    const liar = await launcher('liar', `echo '{"ok":false}'`);
    expect(await runSlotProbe(liar, { deviceId: 'd', brokerUrl: 'mqtt://x' })).toMatchObject({ ok: false, reason: expect.stringMatching(/exited 0 without an ok line/) as unknown });
    const stuck = await launcher('noexec', 'exit 0', 0o644);
    expect(await runSlotProbe(stuck, { deviceId: 'd', brokerUrl: 'mqtt://x' })).toMatchObject({ ok: false, reason: expect.stringMatching(/cannot start/) as unknown });
  });

  it('reads only JSON objects with a boolean ok as the probe line', () => {
    expect(probeLineOf('akb-edge: profile ...\n{"ok":"yes"}\n{not json\n')).toBeUndefined();
    expect(probeLineOf('{"ok":true,"symbols":3}\nakb-edge: bye\n')).toEqual({ ok: true, symbols: 3 });
  });
});
