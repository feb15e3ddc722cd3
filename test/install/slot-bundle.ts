/**
 * Bundles for the install tests, built with @akb/flash's writeBundle: a slot payload whose bin/akb-edge
 * runs this checkout's real runtime-edge/bin/akb-edge (built: npx tsc -b) from the slot, with the slot's
 * profile, the real reference models of the akb-k256 set and a probe image cut from a Kodak sample. So a
 * health check of such a slot is the real one: models loaded, broker connected, image encoded.
 * Broken variants: a card that does not match its model, a launcher that exits 1, one that hangs.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, encodePng } from '@akb/jscc';
import { generateKeyFiles, loadPrivateKey, writeBundle, type BundleInput, type WrittenBundle } from '@akb/flash';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const PROFILE_ID = 'generic-x64';
const SET_MODELS = ['akb-jscc-enc', 'akb-jscc-dec', 'akb-embedder', 'akb-kb-k256', 'akb-dqn-policy', 'akb-channel-kb'];

export type SlotVariant = 'good' | 'card-mismatch' | 'exit-1' | 'hang';

function launcher(variant: SlotVariant): string {
  const head = '#!/bin/sh\nslot=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)\nexport AKB_SLOT_DIR="$slot"\n';
  if (variant === 'exit-1') return `${head}echo "akb-edge: this runtime is broken on purpose" >&2\nexit 1\n`;
  if (variant === 'hang') return `${head}exec sleep 600\n`;
  const edge = join(REPO, 'runtime-edge/bin/akb-edge');
  return `${head}exec "${edge}" --profile "$slot/profile.json" --models "$slot/models/zoo" --set "$slot/models/sets/akb-k256.json" "$@"\n`;
}

/** A 128x96 crop of a Kodak sample as PNG: 12 tiles of 32x32. */
export async function probePng(): Promise<Uint8Array> {
  const dir = join(REPO, 'models/samples/kodak');
  const name = (await readdir(dir)).filter((n) => n.endsWith('.png')).sort()[0]!;
  const image = await decodeImage(await readFile(join(dir, name)));
  const w = 128;
  const h = 96;
  const data = new Float32Array(3 * w * h);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) data[c * w * h + y * w + x] = image.data[c * image.width * image.height + (y + 100) * image.width + x + 200]!;
    }
  }
  return encodePng({ width: w, height: h, data });
}

/** The payload files of a slot. */
export async function slotFiles(variant: SlotVariant): Promise<BundleInput[]> {
  const files: BundleInput[] = [
    { path: 'bin/akb-edge', role: 'script', mode: 0o755, source: { bytes: Buffer.from(launcher(variant)) } },
    { path: 'profile.json', role: 'config', source: { file: join(REPO, `devices/generic/${PROFILE_ID}.profile.json`) } },
    { path: 'models/sets/akb-k256.json', role: 'config', source: { file: join(REPO, 'models/sets/akb-k256.json') } },
    { path: 'probe/probe.png', role: 'other', source: { bytes: await probePng() } },
  ];
  for (const model of SET_MODELS) {
    for (const name of (await readdir(join(REPO, 'models/zoo', model))).sort()) {
      const file = join(REPO, 'models/zoo', model, name);
      const path = `models/zoo/${model}/${name}`;
      const role = name === 'model.onnx' ? 'model' : name === 'card.json' ? 'model-card' : model.includes('kb') ? 'kb' : 'config';
      if (variant === 'card-mismatch' && model === 'akb-jscc-enc' && name === 'card.json') {
        const card = JSON.parse(await readFile(file, 'utf8')) as { onnx: { sha256: string } };
        card.onnx.sha256 = '0'.repeat(64);
        files.push({ path, role, source: { bytes: Buffer.from(JSON.stringify(card)) } });
      } else {
        files.push({ path, role, source: { file } });
      }
    }
  }
  return files;
}

export interface TestKeys {
  key: string;
  pub: string;
}

export async function makeKeys(dir: string, name: string): Promise<TestKeys> {
  const k = await generateKeyFiles(dir, name);
  return { key: k.privateKey, pub: k.publicKey };
}

/** Writes `<out>`: a bundle of version `version` whose slot is `variant`, signed with `keys`. */
export async function makeBundle(out: string, o: { version: string; variant?: SlotVariant; keys: TestKeys; profile?: string }): Promise<WrittenBundle> {
  return writeBundle(out, {
    name: 'akb-edge-test',
    version: o.version,
    targetProfiles: [o.profile ?? PROFILE_ID],
    created: new Date('2026-01-01T00:00:00Z'),
    runtime: { arch: 'x64' },
    files: await slotFiles(o.variant ?? 'good'),
    key: await loadPrivateKey(o.keys.key),
  });
}
