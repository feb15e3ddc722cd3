import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError } from './errors.js';
import { decodeModel, encodeModel } from './io.js';
import { makeTensor } from './tensor.js';
import type { HasUnknown, Model, ValueInfo } from './types.js';
import { WireWriter } from './wire.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const zoo = readdirSync(`${root}models/zoo`)
  .filter((d) => existsSync(`${root}models/zoo/${d}/model.onnx`))
  .map((d) => ({ name: d, bytes: new Uint8Array(readFileSync(`${root}models/zoo/${d}/model.onnx`)) }));
const fixtureFiles = ['conv-opset13.onnx', 'mixed-opset17.onnx', 'if-loop-opset21.onnx', 'kitchen-sink.onnx', 'external/model.onnx'];

/** Deterministic inputs for every graph input (dynamic dims = 1), in [0, 1). */
function feedsFor(model: Model): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  let seed = 1;
  const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const inits = new Set(model.graph.initializer.map((t) => t.name));
  for (const vi of model.graph.input.filter((v: ValueInfo) => !inits.has(v.name))) {
    const dims = (vi.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimValue ?? 1);
    const n = dims.reduce((a, b) => a * b, 1);
    const elem = vi.type?.tensorType?.elemType;
    if (elem === 1) feeds[vi.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, next), dims);
    else if (elem === 9) feeds[vi.name] = new ort.Tensor('bool', Uint8Array.from({ length: n }, () => (next() < 0.5 ? 1 : 0)), dims);
    else throw new Error(`test feeds: input ${vi.name} has element type ${elem}`);
  }
  return feeds;
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, unknown>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data]));
  } finally {
    await session.release();
  }
}

/** Drops every `absent` and `unknownFields` entry: the model then encodes to different, equivalent bytes. */
function stripBookkeeping(value: unknown): void {
  if (Array.isArray(value)) for (const v of value) stripBookkeeping(v);
  else if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    delete (value as HasUnknown).absent;
    for (const v of Object.values(value)) stripBookkeeping(v);
  }
}

function expectFormatError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OnnxFormatError);
  expect((caught as Error).message).toMatch(pattern);
  expect((caught as Error).message).not.toContain('\n');
}

describe('round trip', () => {
  it('finds the zoo models', () => expect(zoo.length).toBeGreaterThanOrEqual(20));

  it.each(zoo.map((z) => [z.name, z.bytes] as const))('%s re-encodes byte-identical', (_, bytes) => {
    expect(Buffer.compare(encodeModel(decodeModel(bytes)), bytes)).toBe(0);
  });

  it.each(fixtureFiles)('fixture %s re-encodes byte-identical', (file) => {
    const bytes = new Uint8Array(readFileSync(fixtures + file));
    expect(Buffer.compare(encodeModel(decodeModel(bytes)), bytes)).toBe(0);
  });

  it.each(zoo.map((z) => [z.name, z.bytes] as const))(
    '%s encoded without presence bookkeeping still loads and gives identical outputs in onnxruntime',
    async (_, bytes) => {
      const model = decodeModel(bytes);
      stripBookkeeping(model);
      const reencoded = encodeModel(model);
      expect(reencoded.length).toBeGreaterThan(bytes.length); // empty domains now written: really other bytes
      const feeds = feedsFor(model);
      expect(await run(reencoded, feeds)).toEqual(await run(bytes, feeds));
    },
  );

  it.each(['conv-opset13.onnx', 'mixed-opset17.onnx', 'if-loop-opset21.onnx'])('fixture %s runs the same after a round trip', async (file) => {
    const bytes = new Uint8Array(readFileSync(fixtures + file));
    const model = decodeModel(bytes);
    model.graph.node[0]!.name = 'renamed';
    const feeds = feedsFor(model);
    expect(await run(encodeModel(model), feeds)).toEqual(await run(bytes, feeds));
  });
});

describe('decoded content', () => {
  const sink = decodeModel(new Uint8Array(readFileSync(`${fixtures}kitchen-sink.onnx`)));

  it('reads every attribute type, int64 extremes and a local function', () => {
    const node = sink.graph.node[0]!;
    expect(node).toMatchObject({ opType: 'Custom', domain: 'com.example', overload: 'v2', docString: 'doc' });
    const attr = Object.fromEntries(node.attribute.map((a) => [a.name, a]));
    expect(attr.f).toMatchObject({ type: 1, f: 0.5 });
    expect(attr.i).toMatchObject({ type: 2, i: -7 });
    expect(attr.ints?.ints).toEqual([-1, 0, 300]);
    expect(attr.floats?.floats).toEqual([1, 2.5]);
    expect(new TextDecoder().decode(attr.s?.s)).toBe('text');
    expect(attr.g?.g?.node[0]?.opType).toBe('Identity');
    expect(attr.sp?.sparseTensor?.dims).toEqual([8]);
    expect(attr.ref).toMatchObject({ refAttrName: 'ref', type: 1 });
    expect(node.unknownFields).toHaveLength(1); // device_configurations, kept raw
    expect(sink.functions).toHaveLength(1);
    expect(sink.unknownFields).toHaveLength(2); // training_info and configuration
  });

  it('reads every tensor data field exactly', () => {
    const t = Object.fromEntries(sink.graph.initializer.map((x) => [x.name, x]));
    expect(t.i64?.int64Data).toEqual([-(2n ** 63n), -1n, 2n ** 63n - 1n]);
    expect(t.u?.uint64Data).toEqual([1n, 2n ** 63n + 5n]);
    expect(t.i32?.int32Data).toEqual([-1, 0, 2 ** 31 - 1]);
    expect(t.d?.doubleData).toEqual([1.5, -2.25]);
    expect(t.fl?.floatData).toEqual([Math.fround(0.1), -0]);
    expect(t.s?.stringData?.map((b) => new TextDecoder().decode(b))).toEqual(['abc', 'é']);
    expect(t.seg?.segment).toEqual({ begin: 0, end: 6 });
    expect(t.seg?.metadataProps).toEqual([{ key: 'k', value: 'v' }]);
    expect(sink.graph.quantizationAnnotation[0]).toMatchObject({ tensorName: 'y', quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: 'y_scale' }] });
    expect(sink.graph.sparseInitializer[0]?.values?.name).toBe('sp_values');
  });

  it('keeps TypeProto kinds it does not model as raw bytes and reads shapes with params and denotations', () => {
    const seq = sink.graph.valueInfo.find((v) => v.name === 'seq')!;
    expect(seq.type?.tensorType).toBeUndefined();
    expect(seq.type?.unknownFields).toHaveLength(1);
    const x = sink.graph.input[0]!;
    expect(x.type?.denotation).toBe('TENSOR');
    expect(x.type?.tensorType?.shape?.dim).toEqual([{}, { dimValue: 3, denotation: 'DATA_CHANNEL' }, { dimParam: 'h' }]);
  });

  it('decodes packed and unpacked repeated scalars alike and writes them the canonical way', () => {
    // A ModelProto by hand: ir_version 8, a graph with one initializer whose dims are packed (Python
    // writes them unpacked) and whose float_data is unpacked (Python packs it).
    const w = new WireWriter();
    w.tag(1, 0);
    w.varint(8);
    w.message(7, () =>
      w.message(5, () => {
        w.message(1, () => [2, 3].forEach((d) => w.varint(d)));
        w.tag(2, 0);
        w.varint(1);
        for (let i = 0; i < 6; i++) {
          w.tag(4, 5);
          w.float32(i / 4);
        }
        w.tag(8, 2);
        w.string('t');
      }),
    );
    const model = decodeModel(w.finish().slice());
    const t = model.graph.initializer[0]!;
    expect(t).toMatchObject({ name: 't', dims: [2, 3], dataType: 1, floatData: [0, 0.25, 0.5, 0.75, 1, 1.25] });
    const again = decodeModel(encodeModel(model));
    expect(again.graph.initializer[0]).toEqual(t);
  });

  it('leaves out non-optional fields that were absent, and writes them once they change', () => {
    const model = decodeModel(new Uint8Array(readFileSync(`${fixtures}conv-opset13.onnx`)));
    const node = model.graph.node[0]!;
    expect(node.absent).toEqual(['domain']); // onnx.helper.make_node leaves the domain unset
    const before = encodeModel(model);
    node.domain = 'ai.onnx';
    const after = decodeModel(encodeModel(model));
    expect(after.graph.node[0]?.domain).toBe('ai.onnx');
    expect(after.graph.node[0]?.absent).toBeUndefined();
    expect(encodeModel(model).length).toBe(before.length + 2 + 'ai.onnx'.length);
  });

  it('encodes tensors made in code', () => {
    const model = decodeModel(new Uint8Array(readFileSync(`${fixtures}conv-opset13.onnx`)));
    model.graph.initializer.push(makeTensor('extra', 7, [2], BigInt64Array.from([5n, -6n])));
    const again = decodeModel(encodeModel(model));
    expect(again.graph.initializer.at(-1)?.rawData).toEqual(new Uint8Array(BigInt64Array.from([5n, -6n]).buffer));
  });
});

describe('malformed input', () => {
  const policy = zoo.find((z) => z.name === 'deepjscc-r6-snr1-enc') ?? zoo[0]!;

  it('throws OnnxFormatError or decodes at every cut of a real model, never anything else (thrown at it: 2100 truncations)', () => {
    const bytes = policy.bytes;
    const cuts = new Set<number>();
    for (let i = 0; i <= 600; i++) cuts.add(i);
    for (let i = 0; i < 1500; i++) cuts.add(Math.floor((i * bytes.length) / 1500));
    let decoded = 0;
    for (const cut of cuts) {
      const part = bytes.subarray(0, cut);
      try {
        const m = decodeModel(part);
        decoded++;
        // A cut that decodes ends on a field boundary: the fields before it re-encode to the same bytes.
        expect(Buffer.compare(encodeModel(m), part)).toBe(0);
      } catch (e) {
        expect(e).toBeInstanceOf(OnnxFormatError);
        expect((e as Error).message).toMatch(/^[^\n]* at byte \d+|not an ONNX model/);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });

  it('survives random garbage and random byte flips of a real model (thrown at it: 600 fuzzed buffers)', () => {
    const small = zoo.find((z) => z.name === 'akb-dqn-policy')!.bytes;
    const check = (bytes: Uint8Array): void => {
      try {
        decodeModel(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(OnnxFormatError);
        expect((e as Error).message).not.toContain('\n');
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => check(b)), { numRuns: 300, seed: 5 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(small.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const b = small.slice();
        for (const [at, v] of flips) b[at] = v;
        check(b);
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('refuses a known field with the wrong wire type (thrown at it: ir_version as bytes, graph as a varint)', () => {
    expectFormatError(() => decodeModel(Uint8Array.from([0x0a, 0x00])), /field 1 has wire type 2, expected 0 at byte 0 \(in ModelProto\)/);
    expectFormatError(() => decodeModel(Uint8Array.from([0x08, 0x08, 0x38, 0x01])), /field 7 has wire type 0, expected 2 at byte 2/);
  });

  it('refuses a node length past the end of its graph (thrown at it: a graph of 2 bytes claiming a 9-byte node)', () => {
    expectFormatError(() => decodeModel(Uint8Array.from([0x08, 0x08, 0x3a, 0x02, 0x0a, 0x09])), /length 9 runs past the end \(0 bytes left\) at byte 5 \(in GraphProto\)/);
  });

  it('refuses bytes that are not a model at all (thrown at it: a JPEG header, a text file, nothing)', () => {
    expectFormatError(() => decodeModel(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10])), /invalid wire type 7/);
    expectFormatError(() => decodeModel(new TextEncoder().encode('hello world')), /ONNX/);
    expectFormatError(() => decodeModel(new Uint8Array(0)), /not an ONNX model: no ir_version and no graph in 0 bytes/);
  });
});

describe('speed', () => {
  it('decodes a 46 MB model in well under a second, without copying tensor payloads', () => {
    const model = decodeModel(new Uint8Array(readFileSync(`${fixtures}conv-opset13.onnx`)));
    for (let i = 0; i < 90; i++) model.graph.initializer.push(makeTensor(`big${i}`, 1, [128, 1000], new Float32Array(128_000).fill(i)));
    const bytes = encodeModel(model);
    expect(bytes.length).toBeGreaterThan(46_000_000);
    decodeModel(bytes); // warm up
    const t0 = performance.now();
    const decoded = decodeModel(bytes);
    const decodeMs = performance.now() - t0;
    const t1 = performance.now();
    const again = encodeModel(decoded);
    const encodeMs = performance.now() - t1;
    console.log(`46 MB model: decode ${decodeMs.toFixed(1)} ms, encode ${encodeMs.toFixed(1)} ms`);
    expect(decoded.graph.initializer.at(-1)?.rawData?.buffer).toBe(bytes.buffer); // a view, not a copy
    expect(Buffer.compare(again, bytes)).toBe(0);
    expect(decodeMs).toBeLessThan(500);
  });
});
