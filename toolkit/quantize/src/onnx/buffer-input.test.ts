/** Models read from files arrive as Node Buffers, whose slice() is a view: tensors must still read right. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { decodeModel, readModel } from './io.js';
import { tensorToFloat32 } from './tensor.js';

const policy = fileURLToPath(new URL('../../../../models/zoo/akb-dqn-policy/model.onnx', import.meta.url));

it('reads float initializers of a model given as a Buffer, through readModel and decodeModel', async () => {
  const buffer = await readFile(policy); // a Buffer view into Node's pool-free allocation
  for (const model of [await readModel(policy), decodeModel(buffer)]) {
    const init = model.graph.initializer.filter((t) => t.dataType === 1);
    expect(init.length).toBeGreaterThan(0);
    for (const t of init) expect(tensorToFloat32(t).length).toBe(t.dims.reduce((a, b) => a * b, 1));
  }
});
