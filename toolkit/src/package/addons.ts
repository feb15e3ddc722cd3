/**
 * The packages the bundled JavaScript leaves external, copied pruned into app/node_modules/ for the target:
 *
 * - onnxruntime-node (when the profile lists an onnxruntime-node backend and the architecture has a build:
 *   x64 and arm64): package.json, its dist/*.js and only bin/napi-v6/linux/<arch>/ (25-46 MB, of 288 MB);
 * - onnxruntime-web (when the profile lists onnxruntime-web-wasm): what its Node path loads and nothing
 *   else: dist/ort.node.min.mjs (`import`), dist/ort.node.min.js (what jscc's `require.resolve` finds to
 *   locate dist/), and the one WASM build it picks without threads or WebGPU,
 *   dist/ort-wasm-simd-threaded.{mjs,wasm} (14 MB, of 139 MB);
 * - onnxruntime-common (both import it): package.json and dist/{cjs,esm}/*.js;
 * - @serialport/bindings-cpp: package.json, its JavaScript bundled with esbuild into dist/index.js (its own
 *   dependencies debug, node-gyp-build, @serialport/bindings-interface and parser-readline inlined) and only
 *   prebuilds/linux-<arch>/ (linux-arm for armv7);
 * - @node-rs/crc32 (the protocol's optional CRC-32C addon) with its platform package when that is installed
 *   on this machine; else the bundle leaves it out and the protocol's JavaScript CRC runs.
 *
 * Source maps, type declarations and READMEs are left out; licence files are kept.
 */
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { AkbError, type DeviceProfile } from '@akb/protocol';
import { ARCH_DIRS, type PayloadFile } from './types.js';

const MODULES = 'app/node_modules';

/** The folder of package `name`, looked up in node_modules from `from` upwards. */
export async function packageDir(name: string, from: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', ...name.split('/'));
    if (await isFile(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Every file under `dir` (sorted, byte order) whose path relative to the package passes `keep`. */
async function walk(dir: string, base: string, keep: (rel: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path, base, keep)));
    else if (e.isFile() && keep(relative(base, path).split(sep).join('/'))) out.push(path);
  }
  return out;
}

async function copyPackage(name: string, dir: string, keep: (rel: string) => boolean): Promise<PayloadFile[]> {
  // Nested package.json files too: onnxruntime-common's dist/cjs and dist/esm each say their module type.
  const files = await walk(dir, dir, (rel) => rel === 'package.json' || (rel.startsWith('dist/') && rel.endsWith('/package.json')) || /^LICEN[CS]E/i.test(rel) || keep(rel));
  return files.map((file) => ({
    path: `${MODULES}/${name}/${relative(dir, file).split(sep).join('/')}`,
    role: file.endsWith('.node') || file.endsWith('.so.1') || file.endsWith('.wasm') ? 'native-addon' : 'runtime',
    source: { file },
  }));
}

/** Files a JavaScript package needs at run time: .js/.mjs/.cjs, not maps or declarations. */
const isCode = (rel: string): boolean => /\.(c|m)?js$/.test(rel);

/** Which external packages the profile needs. */
export function neededAddons(profile: DeviceProfile): { ortNode: boolean; ortWeb: boolean } {
  const arch = ARCH_DIRS[profile.cpu.arch];
  return {
    ortNode: arch.ort !== undefined && profile.backends.some((b) => b.startsWith('onnxruntime-node-')),
    ortWeb: profile.backends.includes('onnxruntime-web-wasm'),
  };
}

export const ORT_WEB_FILES = ['dist/ort.node.min.mjs', 'dist/ort.node.min.js', 'dist/ort-wasm-simd-threaded.mjs', 'dist/ort-wasm-simd-threaded.wasm'];

/** The pruned external packages for `profile`; `from` is where module lookup starts (jscc's folder). */
export async function addonFiles(profile: DeviceProfile, from: string, workspace: string): Promise<{ files: PayloadFile[]; notes: string[] }> {
  const arch = ARCH_DIRS[profile.cpu.arch];
  const need = neededAddons(profile);
  const files: PayloadFile[] = [];
  const notes: string[] = [];
  const dirOf = async (name: string): Promise<string> => {
    const dir = await packageDir(name, from);
    if (dir === undefined) throw new AkbError('PACKAGE_MISSING', `${name} is not installed`, { hint: 'run `npm ci` in the akb checkout' });
    return dir;
  };
  if (need.ortNode || need.ortWeb) files.push(...(await copyPackage('onnxruntime-common', await dirOf('onnxruntime-common'), (r) => r.startsWith('dist/') && isCode(r))));
  if (need.ortNode) {
    const ort = arch.ort!;
    const dir = await dirOf('onnxruntime-node');
    const bin = `bin/napi-v6/linux/${ort}/`;
    const picked = await copyPackage('onnxruntime-node', dir, (r) => (r.startsWith('dist/') && isCode(r)) || r.startsWith(bin));
    if (!picked.some((f) => f.path.endsWith('onnxruntime_binding.node'))) {
      throw new AkbError('PACKAGE_MISSING', `onnxruntime-node has no ${bin}onnxruntime_binding.node`, { hint: 'reinstall onnxruntime-node (npm ci)' });
    }
    files.push(...picked);
  } else {
    notes.push(`no onnxruntime-node (${arch.ort === undefined ? `no ${profile.cpu.arch} build exists` : 'the profile lists no onnxruntime-node backend'})`);
  }
  if (need.ortWeb) {
    const dir = await dirOf('onnxruntime-web');
    const picked = await copyPackage('onnxruntime-web', dir, (r) => ORT_WEB_FILES.includes(r));
    if (picked.filter((f) => f.path.includes('/dist/')).length !== ORT_WEB_FILES.length) {
      throw new AkbError('PACKAGE_MISSING', `onnxruntime-web lacks one of ${ORT_WEB_FILES.join(', ')}`, { hint: 'reinstall onnxruntime-web (npm ci); a new version may need another list in toolkit/src/package/addons.ts' });
    }
    files.push(...picked);
  }
  files.push(...(await serialportFiles(await dirOf('@serialport/bindings-cpp'), arch.serialport, workspace)));
  const crc = await packageDir('@node-rs/crc32', from);
  const crcPlatform = await packageDir(`@node-rs/${arch.nodeRs}`, from);
  if (crc !== undefined && crcPlatform !== undefined) {
    files.push(...(await copyPackage('@node-rs/crc32', crc, (r) => r === 'index.js')));
    files.push(...(await copyPackage(`@node-rs/${arch.nodeRs}`, crcPlatform, (r) => r.endsWith('.node'))));
  } else {
    notes.push(`no @node-rs/${arch.nodeRs} installed here: the protocol's JavaScript CRC-32C runs`);
  }
  return { files, notes };
}

/** @serialport/bindings-cpp: its JavaScript in one CommonJS file, and the prebuilds of one platform. */
async function serialportFiles(dir: string, prebuilds: string, workspace: string): Promise<PayloadFile[]> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(dir, 'dist', 'index.js')],
    absWorkingDir: workspace,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    outfile: join(dir, 'dist', 'index.out.js'),
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles[0]!.contents;
  const kept = await copyPackage('@serialport/bindings-cpp', dir, (r) => r.startsWith(`prebuilds/${prebuilds}/`));
  if (!kept.some((f) => f.path.endsWith('.node'))) {
    throw new AkbError('PACKAGE_MISSING', `@serialport/bindings-cpp has no prebuilds/${prebuilds}/`, { hint: 'reinstall serialport (npm ci)' });
  }
  return [...kept, { path: `${MODULES}/@serialport/bindings-cpp/dist/index.js`, role: 'runtime', source: { bytes: js } }];
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Where module lookup for the runtime's packages starts: the folder of @akb/jscc (which imports onnxruntime). */
export function jsccDir(): string {
  return dirname(createRequire(import.meta.url).resolve('@akb/jscc'));
}
