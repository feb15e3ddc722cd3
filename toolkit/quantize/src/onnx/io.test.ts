import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError } from './errors.js';
import { decodeModel, encodeModel, readModel, writeModelAtomic } from './io.js';
import { tensorToFloat32 } from './tensor.js';
import type { Model } from './types.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const tmp = (): string => mkdtempSync(join(tmpdir(), 'akb-onnx-io-'));
const x = new ort.Tensor('float32', Float32Array.from({ length: 32 }, (_, i) => i / 10), [2, 16]);

async function runPath(path: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path);
  try {
    return (await s.run({ x })).y!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Copies the external-data fixture into a fresh folder, with the weight's external entries edited. */
function hostileCopy(edit: (m: Model) => void, folder = tmp()): string {
  const model = decodeModel(new Uint8Array(readFileSync(`${fixtures}external/model.onnx`)));
  edit(model);
  copyFileSync(`${fixtures}external/weights.bin`, join(folder, 'weights.bin'));
  writeFileSync(join(folder, 'model.onnx'), encodeModel(model));
  return join(folder, 'model.onnx');
}

function setEntry(m: Model, key: string, value: string | undefined): void {
  const t = m.graph.initializer.find((i) => i.name === 'w')!;
  const rest = t.externalData!.filter((e) => e.key !== key);
  t.externalData = value === undefined ? rest : [...rest, { key, value }];
}

async function expectRefused(path: string, pattern: RegExp): Promise<void> {
  const err: unknown = await readModel(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OnnxFormatError);
  expect((err as Error).message).toMatch(pattern);
  expect((err as Error).message).not.toContain('\n');
}

describe('readModel with external data', () => {
  it('loads external weights into rawData; the model then runs from bytes like the original runs from its folder', async () => {
    const model = await readModel(`${fixtures}external/model.onnx`);
    const w = model.graph.initializer.find((t) => t.name === 'w')!;
    expect(w.dataLocation).toBeUndefined();
    expect(w.externalData).toBeUndefined();
    expect(w.rawData).toHaveLength(16 * 8 * 4);
    expect(tensorToFloat32(w)).toEqual(new Float32Array(new Uint8Array(readFileSync(`${fixtures}external/weights.bin`)).buffer));
    const s = await ort.InferenceSession.create(encodeModel(model));
    const inline = (await s.run({ x })).y!.data;
    await s.release();
    expect(inline).toEqual(await runPath(`${fixtures}external/model.onnx`));
  });

  it('can leave external data where it is', async () => {
    const model = await readModel(`${fixtures}external/model.onnx`, { externalData: false });
    expect(model.graph.initializer.find((t) => t.name === 'w')?.dataLocation).toBe(1);
  });

  it('refuses a location with .. that escapes the model folder (thrown at it: ../weights.bin)', async () => {
    const outer = tmp();
    const inner = join(outer, 'inner');
    mkdirSync(inner);
    copyFileSync(`${fixtures}external/weights.bin`, join(outer, 'weights.bin'));
    await expectRefused(
      hostileCopy((m) => setEntry(m, 'location', '../weights.bin'), inner),
      /tensor 'w': external data location '..\/weights.bin' escapes the model folder/,
    );
  });

  it('refuses an absolute location (thrown at it: /etc/passwd)', async () => {
    await expectRefused(hostileCopy((m) => setEntry(m, 'location', '/etc/passwd')), /'\/etc\/passwd' is absolute/);
  });

  it('refuses a symlink that leads out of the folder (thrown at it: weights.bin -> /etc/hostname)', async () => {
    const folder = tmp();
    const path = hostileCopy((m) => setEntry(m, 'location', 'link.bin'), folder);
    symlinkSync('/etc/hostname', join(folder, 'link.bin'));
    await expectRefused(path, /'link.bin' links outside the model folder/);
  });

  it('refuses a missing external file (thrown at it: location gone.bin)', async () => {
    await expectRefused(hostileCopy((m) => setEntry(m, 'location', 'gone.bin')), /external data file 'gone.bin' is missing/);
  });

  it('refuses bytes outside the file (thrown at it: offset 400 + length 512 in a 512-byte file)', async () => {
    await expectRefused(hostileCopy((m) => setEntry(m, 'offset', '400')), /external data bytes 400..912 lie outside 'weights.bin' \(512 bytes\)/);
  });

  it('refuses a length that does not match the shape (thrown at it: length 256 for 16x8 floats)', async () => {
    await expectRefused(hostileCopy((m) => setEntry(m, 'length', '256')), /holds 256 bytes, its shape \[16, 8\] needs 512/);
  });

  it('refuses a non-numeric offset and a missing location (thrown at it: offset "-4", no location entry)', async () => {
    await expectRefused(hostileCopy((m) => setEntry(m, 'offset', '-4')), /external data offset '-4' is not a byte count/);
    await expectRefused(hostileCopy((m) => setEntry(m, 'location', undefined)), /tensor 'w' is stored externally but has no location/);
  });

  it('names the file in a decode error (thrown at it: the fixture cut in half)', async () => {
    const folder = tmp();
    const bytes = readFileSync(`${fixtures}conv-opset13.onnx`);
    writeFileSync(join(folder, 'cut.onnx'), bytes.subarray(0, 600));
    await expectRefused(join(folder, 'cut.onnx'), /cut.onnx: corrupt ONNX protobuf: length \d+ runs past the end .* at byte \d+/);
  });

  it('says plainly when the model file is not there (thrown at it: a path that does not exist)', async () => {
    await expect(readModel('/nonexistent/model.onnx')).rejects.toThrow(/^cannot read model \/nonexistent\/model.onnx: ENOENT: no such file or directory$/);
  });
});

describe('writeModelAtomic', () => {
  it('writes a model that onnxruntime loads, leaving no temporary file', async () => {
    const folder = tmp();
    const model = await readModel(`${fixtures}external/model.onnx`);
    await writeModelAtomic(join(folder, 'out.onnx'), model);
    expect(readdirSync(folder)).toEqual(['out.onnx']);
    expect(await runPath(join(folder, 'out.onnx'))).toEqual(await runPath(`${fixtures}external/model.onnx`));
  });

  it('moves large initializers to <name>.data at page-aligned offsets, without changing the model it was given', async () => {
    const folder = tmp();
    const model = await readModel(`${fixtures}external/model.onnx`);
    const before = encodeModel(model);
    await writeModelAtomic(join(folder, 'big.onnx'), model, { externalDataThreshold: 100 });
    expect(readdirSync(folder).sort()).toEqual(['big.onnx', 'big.onnx.data']);
    expect(Buffer.compare(encodeModel(model), before)).toBe(0);
    const back = await readModel(join(folder, 'big.onnx'), { externalData: false });
    const w = back.graph.initializer.find((t) => t.name === 'w')!;
    expect(w.externalData).toEqual([
      { key: 'location', value: 'big.onnx.data' },
      { key: 'offset', value: '0' },
      { key: 'length', value: '512' },
    ]);
    expect(back.graph.initializer.find((t) => t.name === 'b')?.rawData).toHaveLength(32); // under the threshold
    expect(await runPath(join(folder, 'big.onnx'))).toEqual(await runPath(`${fixtures}external/model.onnx`));
  });

  it('leaves the old file whole and no temporary behind when it cannot write (thrown at it: a folder that does not exist, a path that is a folder)', async () => {
    const model = await readModel(`${fixtures}external/model.onnx`);
    await expect(writeModelAtomic('/nonexistent-dir/out.onnx', model)).rejects.toThrow(/^cannot write model \/nonexistent-dir\/out.onnx: ENOENT/);
    const folder = tmp();
    mkdirSync(join(folder, 'taken.onnx'));
    await expect(writeModelAtomic(join(folder, 'taken.onnx'), model)).rejects.toThrow(/cannot write model .*taken.onnx: EISDIR/);
    expect(readdirSync(folder)).toEqual(['taken.onnx']);
  });

  it('replaces an existing model in one step', async () => {
    const folder = tmp();
    const path = join(folder, 'm.onnx');
    writeFileSync(path, 'old contents');
    const model = decodeModel(new Uint8Array(readFileSync(`${fixtures}conv-opset13.onnx`)));
    await writeModelAtomic(path, model);
    expect(Buffer.compare(readFileSync(path), readFileSync(`${fixtures}conv-opset13.onnx`))).toBe(0);
    expect(readdirSync(folder)).toEqual(['m.onnx']);
  });
});
