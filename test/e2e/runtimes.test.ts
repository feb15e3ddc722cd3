/**
 * The real daemons, as users start them: the built `akb-edge` and `akb-cloud` bins in child processes,
 * against the embedded broker and Mosquitto alike. The cloud's fleet registry must follow an edge through
 * birth, an unclean death (SIGKILL: the broker publishes the last will), a restart and a clean shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { topics } from '@akb/protocol';
import { RpcClient, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { describeBrokers, uniqueId, type BrokerHandle } from '../support/index.js';

const bin = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

function daemon(path: string, args: string[]): { child: ChildProcess; output: () => string; errors: () => string; ready: Promise<void> } {
  const child = spawn(process.execPath, [bin(path), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let errors = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      text += b.toString();
      if (/online at|akb-cloud: watching /.test(text)) resolve();
    });
    child.stderr?.on('data', (b: Buffer) => {
      text += b.toString();
      errors += b.toString();
    });
    child.once('exit', (code) => reject(new Error(`${path} exited with ${code}: ${text}`)));
  });
  return { child, output: () => text, errors: () => errors, ready };
}

/** The exit code, or the name of the signal that ended the process (a crash at exit shows as SIGABRT or SIGSEGV). */
async function exited(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null) return child.exitCode;
  if (child.signalCode !== null) return child.signalCode;
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

interface Entry { device: string; state: string; session: number; reason?: string }

async function until(read: () => Promise<Entry[]>, test: (fleet: Entry[]) => boolean, timeoutMs = 8000): Promise<Entry[]> {
  const end = Date.now() + timeoutMs;
  let last: Entry[] = [];
  while (Date.now() < end) {
    last = await read();
    if (test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fleet never reached the expected state; last: ${JSON.stringify(last)}`);
}

describeBrokers('akb-edge and akb-cloud daemons', (kind) => {
  let broker: BrokerHandle;
  let tool: AkbMqttClient;
  let cloud: ReturnType<typeof daemon>;
  let toCloud: RpcClient;
  beforeAll(async () => {
    broker = await kind.start();
    cloud = daemon('runtime-cloud/dist/main.js', ['--broker', broker.url]);
    await cloud.ready;
    const id = uniqueId('tool');
    tool = await connectMqtt({ url: broker.url, clientId: id });
    toCloud = new RpcClient(tool, { requestTopic: topics.cloudOpsReq(), replyTopic: topics.cloudRes(id), timeoutMs: 3000 });
  });
  afterAll(async () => {
    cloud?.child.kill('SIGTERM');
    await tool?.close({ force: true });
    await broker?.close();
  });

  it('tracks an edge through birth, last will, restart and clean shutdown; the edge answers commands', async () => {
    const device = uniqueId('edge').replace(/[^A-Za-z0-9._-]/g, '');
    const fleet = () => toCloud.request<Entry[]>('fleet.list').then((all) => all.filter((e) => e.device === device));

    const first = daemon('runtime-edge/dist/main.js', ['--broker', broker.url, '--device', device]);
    await first.ready;
    const [born] = await until(fleet, (f) => f[0]?.state === 'online');
    const toEdge = new RpcClient(tool, { requestTopic: topics.cmdReq(device), replyTopic: topics.cloudRes(`${device}-probe`), timeoutMs: 3000 });
    expect(await toEdge.request('ping')).toMatchObject({ pong: true });
    expect(await toEdge.request('status.get')).toMatchObject({ device, models: [] });
    await expect(toEdge.request('reboot.now')).rejects.toMatchObject({ code: 'UNKNOWN_OP' });

    // Thrown at it: the edge process killed without a goodbye; the broker must publish its last will.
    first.child.kill('SIGKILL');
    await exited(first.child);
    const [dead] = await until(fleet, (f) => f[0]?.state === 'offline', kind.name === 'mosquitto' ? 8000 : 8000);
    expect(dead).toMatchObject({ state: 'offline', reason: 'will', session: born?.session });

    const second = daemon('runtime-edge/dist/main.js', ['--broker', broker.url, '--device', device]);
    await second.ready;
    const [reborn] = await until(fleet, (f) => f[0]?.state === 'online');
    expect(reborn?.session).not.toBe(born?.session);

    second.child.kill('SIGTERM');
    expect(await exited(second.child), second.output().slice(-2000)).toBe(0);
    const [gone] = await until(fleet, (f) => f[0]?.state === 'offline');
    expect(gone).toMatchObject({ reason: 'shutdown', session: reborn?.session });
    await toEdge.stop();
  });

  it('says what to do, in one line, when the broker cannot be reached', async () => {
    const edge = daemon('runtime-edge/dist/main.js', ['--broker', 'mqtt://127.0.0.1:1', '--device', 'nobroker']);
    edge.ready.catch(() => undefined);
    expect(await exited(edge.child)).not.toBe(0);
    // stdout may say which device profile it chose before connecting; the error is one line on stderr.
    const lines = edge.errors().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^akb-edge: cannot connect to mqtt:\/\/127\.0\.0\.1:1: .*\(check the broker URL/);
  });
});
