/**
 * `akb package` end to end (build first: npx tsc -b). Bundles for rpi-5 (arm64), rpi-3 (armv7: no
 * onnxruntime-node, the one WASM file), generic-x64 and jetson-orin-nano (no WASM backend in its profile),
 * all with --no-node; the same inputs twice give the same bytes; the x64 bundle unpacked into a folder runs
 * its own launcher: --help, then CIFAR-10 images encoded through onnxruntime-node and through
 * onnxruntime-web's WASM backend, frames arriving on an embedded aedes broker.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, topics, type BundleManifest } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { EPOCH, root, runAkb, unpack, workDir } from './helpers.js';

let work: { dir: string; key: string; pub: string };
const bundles = new Map<string, { path: string; manifest: BundleManifest; slot: string }>();
const PROFILES = ['rpi-5', 'rpi-3', 'generic-x64', 'jetson-orin-nano'];

beforeAll(async () => {
  work = await workDir('package');
  for (const id of PROFILES) {
    const path = join(work.dir, `${id}.akb`);
    const r = runAkb(['package', '--profile', id, '--set', 'akb-k256', '--key', work.key, '-o', path, '--no-node', '--json']);
    if (r.status !== 0) throw new Error(`akb package --profile ${id}: ${r.stderr}`);
    const { slot, manifest } = await unpack(path, join(work.dir, `unpacked-${id}`));
    bundles.set(id, { path, manifest, slot });
  }
}, 600_000);
afterAll(async () => {
  if (work) await rm(work.dir, { recursive: true, force: true });
});

const paths = (id: string): string[] => bundles.get(id)!.manifest.files.map((f) => f.path);

describe('akb package: what each profile gets', () => {
  it('carries the bundled edge, the launchers, the profile, the units, the probe and the edge models of the set', () => {
    for (const id of PROFILES) {
      const { manifest } = bundles.get(id)!;
      expect(manifest.targetProfiles).toEqual([id]);
      expect(manifest.runtime.node).toBe('>=20.11');
      const p = paths(id);
      for (const f of ['app/akb-edge.mjs', 'bin/akb-edge', 'bin/akb-agent', 'profile.json', 'systemd/akb-edge.service', 'systemd/akb-agent.service', 'probe/probe.png', 'models/sets/akb-k256.json']) {
        expect(p).toContain(f);
      }
      for (const m of ['akb-jscc-enc', 'akb-jscc-dec', 'akb-embedder', 'akb-dqn-policy']) expect(p).toContain(`models/zoo/${m}/model.onnx`);
      expect(p).toContain('models/zoo/akb-dqn-policy/export.json');
      expect(p).toContain('models/zoo/akb-kb-k256/priors.u8');
      expect(p).toContain('models/zoo/akb-channel-kb/channel_kb.json');
      expect(p.some((x) => x.startsWith('node/'))).toBe(false); // --no-node
      expect(manifest.files.find((f) => f.path === 'bin/akb-edge')?.mode).toBe(0o755);
    }
  });

  it('gives each architecture only its own native binaries', () => {
    const arm64 = paths('rpi-5');
    expect(arm64.filter((x) => x.includes('/bin/napi-v6/')).every((x) => x.includes('/linux/arm64/'))).toBe(true);
    expect(arm64).toContain('app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node');
    expect(arm64.some((x) => x.startsWith('app/node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/'))).toBe(true);
    expect(arm64.filter((x) => x.includes('/prebuilds/')).every((x) => x.includes('/prebuilds/linux-arm64/'))).toBe(true);

    const armv7 = paths('rpi-3');
    expect(armv7.some((x) => x.startsWith('app/node_modules/onnxruntime-node/'))).toBe(false);
    expect(armv7.filter((x) => x.endsWith('.wasm'))).toEqual(['app/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm']);
    expect(armv7.filter((x) => x.includes('/prebuilds/')).every((x) => x.includes('/prebuilds/linux-arm/'))).toBe(true);

    const x64 = paths('generic-x64');
    expect(x64.filter((x) => x.includes('/bin/napi-v6/')).every((x) => x.includes('/linux/x64/'))).toBe(true);
    expect(x64.filter((x) => x.endsWith('.wasm'))).toHaveLength(1);

    // The Orin's profile lists TensorRT, CUDA and CPU: onnxruntime-node for arm64, no WASM.
    const orin = paths('jetson-orin-nano');
    expect(orin).toContain('app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node');
    expect(orin.some((x) => x.startsWith('app/node_modules/onnxruntime-web/'))).toBe(false);
  });

  it('renders the systemd units with the profile install paths', async () => {
    const unit = await readFile(join(bundles.get('rpi-5')!.slot, 'systemd', 'akb-edge.service'), 'utf8');
    expect(unit).toContain('ExecStart=/opt/akb/current/bin/akb-edge');
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('SupplementaryGroups=dialout');
    expect(unit).toMatch(/^ExecStartPre=\+\/bin\/sh -c .*akb-agent" boot --root \/opt\/akb/m);
    expect(unit).not.toMatch(/@[A-Z_]+@/);
    const agent = await readFile(join(bundles.get('rpi-5')!.slot, 'systemd', 'akb-agent.service'), 'utf8');
    expect(agent).toMatch(/^Type=oneshot$/m);
    expect(agent).toContain('"$s/bin/akb-agent" boot --root /opt/akb');
  });

  it('carries the install agent, whose launcher answers --help', () => {
    const { slot } = bundles.get('generic-x64')!;
    expect(paths('generic-x64')).toContain('app/akb-agent.mjs');
    const r = spawnSync(join(slot, 'bin', 'akb-agent'), ['--help'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^akb-agent <install\|boot\|status\|receive\|ota>/m);
  });

  it('gives identical bytes for the same inputs and SOURCE_DATE_EPOCH', async () => {
    const again = join(work.dir, 'again.akb');
    const r = runAkb(['package', '--profile', 'generic-x64', '--set', 'akb-k256', '--key', work.key, '-o', again, '--no-node'], { SOURCE_DATE_EPOCH: EPOCH });
    expect(r.status).toBe(0);
    const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');
    expect(await sha(again)).toBe(await sha(bundles.get('generic-x64')!.path));
    expect(Date.parse(bundles.get('generic-x64')!.manifest.created)).toBe(Number(EPOCH) * 1000);
  }, 300_000);
});

describe('the x64 bundle, unpacked, runs', () => {
  let broker: AedesHandle;
  let tool: AkbMqttClient;
  let images: string;
  beforeAll(async () => {
    broker = await startAedes();
    tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
    images = join(work.dir, 'images');
    await mkdir(images);
    const cifar = join(root, 'models', 'samples', 'cifar10-test');
    for (const name of (await readdir(cifar)).sort().slice(0, 3)) await copyFile(join(cifar, name), join(images, name));
  });
  afterAll(async () => {
    await tool?.close({ force: true });
    await broker?.close();
  });

  /** The child's environment without the caller's akb settings, so the launcher's own defaults apply. */
  function cleanEnv(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('AKB_')) delete env[k];
    return env;
  }

  it('answers --help through its launcher, outside the checkout', () => {
    const { slot } = bundles.get('generic-x64')!;
    const r = spawnSync(join(slot, 'bin', 'akb-edge'), ['--help'], { cwd: slot, encoding: 'utf8', env: cleanEnv() });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('akb-edge [--config <edge.json>] --device <id>');
  });

  for (const backend of ['onnxruntime-node-cpu', 'onnxruntime-web-wasm']) {
    it(`encodes CIFAR-10 images through ${backend}, frames arriving on the broker`, async () => {
      const { slot } = bundles.get('generic-x64')!;
      const device = uniqueId('cam');
      const inbox = await Inbox.open(tool, topics.linkTx(device));
      const child = spawn(join(slot, 'bin', 'akb-edge'), ['--device', device, '--broker', broker.url, '--images', images, '--once', '--telemetry-ms', '0', '--backends', backend], {
        cwd: slot,
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, out).toBe(0);
      expect(out).toContain(`backends ${backend};`);
      expect(out).toMatch(/3 sent, 0 corrupt, 0 failed/);
      const frames = await inbox.waitFor(3, 20_000);
      // Each is a whole symbol frame (its CRC checked by the decoder).
      for (const f of frames) expect(decodeFrame(f.payload).payload.length).toBeGreaterThan(0);
      inbox.close();
    }, 120_000);
  }

  it("loads serialport's native binding from the bundle (opening a missing port fails in its C++ code)", () => {
    const { slot } = bundles.get('generic-x64')!;
    const script = "require('./app/node_modules/@serialport/bindings-cpp').autoDetect().open({ path: '/dev/akb-no-such-port', baudRate: 9600 }).catch((e) => { console.log(e.message); })";
    const r = spawnSync(process.execPath, ['-e', script], { cwd: slot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/No such file or directory, cannot open \/dev\/akb-no-such-port/);
  });

  it('keeps no file outside app/node_modules that the edge does not need: the WASM package is four files', async () => {
    const { slot } = bundles.get('generic-x64')!;
    const web = await readdir(join(slot, 'app', 'node_modules', 'onnxruntime-web', 'dist'));
    expect(web.sort()).toEqual(['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort.node.min.js', 'ort.node.min.mjs']);
    expect((await stat(join(slot, 'app', 'akb-edge.mjs'))).size).toBeGreaterThan(100_000);
  });
});
