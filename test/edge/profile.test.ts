/**
 * The built `akb-edge` and its device profile, as a user starts it (build first: npx tsc -b). Thrown at
 * it: an unknown profile id (one line, exit 2, every known id named), no --profile on this machine (the
 * profile resolveProfile finds here, said on stdout, in the birth and in status.get), and a Jetson profile
 * on a machine without TensorRT or CUDA (its backend order reaches the runtime, the CPU takes the models).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileCatalogue, resolveProfile } from '@akb/devices';
import { decodeMessage, topics } from '@akb/protocol';
import { RpcClient, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const main = 'runtime-edge/dist/main.js';

function daemon(args: string[]): { child: ChildProcess; output: () => string; ready: Promise<void> } {
  const child = spawn(process.execPath, [main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      text += b.toString();
      if (/online at/.test(text)) resolve();
    });
    child.stderr?.on('data', (b: Buffer) => (text += b.toString()));
    child.once('exit', (code) => reject(new Error(`akb-edge exited with ${code}: ${text}`)));
  });
  ready.catch(() => undefined);
  return { child, output: () => text, ready };
}

async function stopped(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exit;
}

let broker: AedesHandle;
let tool: AkbMqttClient;
beforeAll(async () => {
  broker = await startAedes();
  tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
});
afterAll(async () => {
  await tool?.close({ force: true });
  await broker?.close();
});

async function birthAndStatus(device: string, args: string[]): Promise<{ birth: Record<string, unknown>; status: Record<string, unknown>; stdout: string }> {
  const inbox = await Inbox.open(tool, topics.status(device));
  const edge = daemon(['--broker', broker.url, '--device', device, '--telemetry-ms', '0', ...args]);
  try {
    await edge.ready;
    const [birth] = await inbox.waitFor(1, 20_000);
    const rpc = new RpcClient(tool, { requestTopic: topics.cmdReq(device), replyTopic: topics.cloudRes(uniqueId('probe')), timeoutMs: 10_000 });
    const status = await rpc.request<Record<string, unknown>>('status.get');
    await rpc.stop();
    return { birth: decodeMessage('status', birth!.payload), status, stdout: edge.output() };
  } finally {
    expect(await stopped(edge.child)).toBe(0);
    inbox.close();
  }
}

describe('akb-edge --profile', () => {
  it('refuses an unknown profile id in one line, exit 2, naming every known id', async () => {
    const r = spawnSync(process.execPath, [main, '--device', 'cam-1', '--profile', 'rpi-9', '--broker', 'mqtt://127.0.0.1:1'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^akb-edge: unknown device profile "rpi-9" \(known profiles: /);
    for (const id of (await ProfileCatalogue.load()).ids) expect(lines[0]).toContain(id);
    expect(r.stdout).toBe('');
  });

  it('refuses a batch or thread count that is not a whole positive number, exit 2', () => {
    for (const flag of [['--max-batch', '0'], ['--threads', '1.5']]) {
      const r = spawnSync(process.execPath, [main, '--device', 'cam-1', ...flag, '--broker', 'mqtt://127.0.0.1:1'], { cwd: root, encoding: 'utf8' });
      expect(r.status, flag.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^akb-edge: ${flag[0]} ${flag[1]} is not a whole number`)) as string]);
    }
  });

  it('without --profile, starts with the profile this machine resolves to (the generic one on an unknown machine), and says so', async () => {
    const here = await resolveProfile();
    const device = uniqueId('auto').replace(/[^A-Za-z0-9._-]/g, '');
    const { birth, status, stdout } = await birthAndStatus(device, []);
    expect(stdout).toContain(`akb-edge: profile ${here.reason}: backends ${here.profile.backends.join(' > ')}; `);
    expect(birth).toMatchObject({ state: 'online', device, profile: here.profile.id });
    expect(status).toMatchObject({ device, profile: here.profile.id, profileChoice: here.choice });
    if (here.choice === 'generic') expect(here.profile.id).toBe(`generic-${process.arch === 'arm' ? 'armv7' : process.arch}`);
  });

  it("with a Jetson profile on a machine without TensorRT or CUDA: the profile's order reaches the runtime and the CPU takes every model", async () => {
    const device = uniqueId('orin').replace(/[^A-Za-z0-9._-]/g, '');
    const { birth, status, stdout } = await birthAndStatus(device, ['--profile', 'jetson-orin-nano', '--models', 'models/zoo', '--set', 'akb-k256', '--ingest', '--threads', '1']);
    expect(stdout).toContain('akb-edge: profile jetson-orin-nano (given): backends onnxruntime-node-tensorrt > onnxruntime-node-cuda > onnxruntime-node-cpu; 32 tiles per model run; 1 thread\n');
    expect(birth).toMatchObject({ profile: 'jetson-orin-nano' });
    expect(status).toMatchObject({
      profile: 'jetson-orin-nano',
      profileChoice: 'given',
      limits: { backends: ['onnxruntime-node-tensorrt', 'onnxruntime-node-cuda', 'onnxruntime-node-cpu'], maxBatch: 32, threads: 1 },
      backends: { encoder: 'onnxruntime-node-cpu', embedder: 'onnxruntime-node-cpu', policy: 'onnxruntime-node-cpu' },
    });
  });
});
