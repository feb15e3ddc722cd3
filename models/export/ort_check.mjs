// Runs one ONNX file in onnxruntime-node on float32 inputs written by models/export/fixed_export.py
// (spec.json: {model, inputs: {name: shape}, dir}); writes the first output to dir/out.f32 and its shape to dir/out.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const feeds = {};
for (const [name, shape] of Object.entries(spec.inputs)) {
  const b = readFileSync(join(spec.dir, `${name}.f32`));
  feeds[name] = new ort.Tensor('float32', new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), shape);
}
const session = await ort.InferenceSession.create(spec.model);
const out = await session.run(feeds);
const t = out[session.outputNames[0]];
writeFileSync(join(spec.dir, 'out.f32'), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
writeFileSync(join(spec.dir, 'out.json'), JSON.stringify({ shape: t.dims }));
