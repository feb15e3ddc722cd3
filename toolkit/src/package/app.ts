/**
 * The edge daemon and the install agent bundled with esbuild into one ESM file each (app/akb-edge.mjs,
 * app/akb-agent.mjs): platform node, target node20, a createRequire banner for the CommonJS dependencies
 * esbuild inlines, and the native or WASM packages left external (they are copied pruned beside them,
 * addons.ts). Paths in the output are relative to the workspace root and nothing time-dependent is
 * emitted, so the same sources give the same bytes.
 *
 * @akb/devices finds its profile folders from `new URL('..', import.meta.url)`; inside a bundle that
 * would be the slot's root, so that one expression is rewritten to `./devices/` (app/devices/, where the
 * catalogue's profiles are copied) and its absence is an error, not a silent miss.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { AkbError } from '@akb/protocol';

/** Packages kept out of the JavaScript bundles and shipped as files in app/node_modules. */
export const EXTERNAL_PACKAGES = ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', '@serialport/bindings-cpp', '@node-rs/crc32'] as const;

const BANNER = "import { createRequire as __akbCreateRequire } from 'node:module';\nconst require = __akbCreateRequire(import.meta.url);";
const CATALOGUE_ROOT = /new URL\((['"])\.\.\1, import\.meta\.url\)/;

export interface AppEntry {
  /** Output path inside the payload, e.g. app/akb-edge.mjs. */
  path: string;
  entry: string;
}

/** The built entry points: the edge's dist/main.js and, once it exists, the install agent's. */
export async function appEntries(): Promise<{ entries: AppEntry[]; workspace: string; missing: string[] }> {
  const require = createRequire(import.meta.url);
  let edgeDist: string;
  try {
    edgeDist = dirname(require.resolve('@akb/edge'));
  } catch (e) {
    throw new AkbError('NOT_BUILT', 'cannot find @akb/edge', { hint: 'run `npx tsc -b` in the akb checkout', cause: e });
  }
  const edgeMain = join(edgeDist, 'main.js');
  if (!(await exists(edgeMain))) throw new AkbError('NOT_BUILT', `${edgeMain} is missing`, { hint: 'run `npx tsc -b` in the akb checkout' });
  const entries: AppEntry[] = [{ path: 'app/akb-edge.mjs', entry: edgeMain }];
  const agentCandidates = [join(edgeDist, 'install', 'main.js')];
  let agent: string | undefined;
  for (const c of agentCandidates) if (agent === undefined && (await exists(c))) agent = c;
  if (agent !== undefined) entries.push({ path: 'app/akb-agent.mjs', entry: agent });
  // The workspace root: runtime-edge/dist/ is two folders below it.
  return { entries, workspace: resolve(edgeDist, '..', '..'), missing: agent === undefined ? agentCandidates : [] };
}

/** Bundles one entry; returns the JavaScript bytes. */
export async function bundleApp(entry: AppEntry, workspace: string): Promise<Uint8Array> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry.entry],
    absWorkingDir: workspace,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: join(workspace, entry.path),
    write: false,
    external: [...EXTERNAL_PACKAGES],
    banner: { js: BANNER },
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [
      {
        name: 'akb-devices-root',
        setup(b) {
          b.onLoad({ filter: /[\\/]devices[\\/]dist[\\/]catalogue\.js$/ }, async (args) => {
            const text = await readFile(args.path, 'utf8');
            if (!CATALOGUE_ROOT.test(text)) {
              throw new Error(`${args.path}: the profile root expression changed; update toolkit/src/package/app.ts`);
            }
            return { contents: text.replace(CATALOGUE_ROOT, "new URL('./devices/', import.meta.url)"), loader: 'js' };
          });
        },
      },
    ],
  }).catch((e: unknown) => {
    throw new AkbError('BUNDLE_BUILD_FAILED', `esbuild could not bundle ${entry.entry}: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'rebuild the workspace (npx tsc -b) and try again',
      cause: e,
    });
  });
  const out = result.outputFiles?.[0];
  if (out === undefined) throw new AkbError('BUNDLE_BUILD_FAILED', `esbuild wrote nothing for ${entry.entry}`);
  const absolute = out.text.indexOf(workspace);
  if (absolute !== -1) {
    throw new AkbError('BUNDLE_NOT_PORTABLE', `${entry.path} embeds the absolute path ${workspace}`, { hint: 'a dependency records its own location; report it' });
  }
  return out.contents;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
