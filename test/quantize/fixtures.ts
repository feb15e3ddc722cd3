/**
 * Test helpers for the quantizer: temporary folders, .npy bytes, and broken inputs made from real files
 * (a truncated zoo model, a folder of sample images with one corrupt JPEG, a valid model that onnxruntime
 * cannot run).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModel, encodeModel } from '../../toolkit/quantize/src/onnx/io.js';
import { CIFAR_SAMPLES, ZOO } from './images.js';

export const POLICY = join(ZOO, 'akb-dqn-policy', 'model.onnx');
export const ENC = join(ZOO, 'deepjscc-r12-snr7-enc', 'model.onnx');
export const DEC = join(ZOO, 'deepjscc-r12-snr7-dec', 'model.onnx');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `akb-quant-${prefix}-`));
}

/** .npy (version 1.0) bytes of a C-ordered float32 array. */
export function npyBytes(shape: number[], values: ArrayLike<number>): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + dict.length + 1;
  const header = `${dict}${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + values.length * 4);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Array.from(header, (c) => c.charCodeAt(0)), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** `rows` synthetic DQN-policy states (11 values each, deterministic) as one .npy file. */
export function policyStatesNpy(dir: string, rows: number): string {
  const values = Float32Array.from({ length: rows * 11 }, (_, i) => {
    const col = i % 11;
    const row = Math.floor(i / 11);
    if (col >= 2 && col <= 5) return (row % 4) + 2 === col ? 1 : 0;
    return Math.sin(row * 1.7 + col) * (col === 0 ? 1.2 : 0.5) + (col === 8 ? 0.8 : 0);
  });
  const path = join(dir, 'states.npy');
  writeFileSync(path, npyBytes([rows, 11], values));
  return path;
}

/** A copy of models/samples/cifar10-test with one file replaced by a corrupt JPEG (valid SOI, garbage after). */
export function imagesWithCorruptJpeg(): string {
  const dir = tempDir('corrupt-jpeg');
  const files = readdirSync(CIFAR_SAMPLES).filter((f) => f.endsWith('.jpg')).sort();
  for (const f of files.slice(0, 6)) copyFileSync(join(CIFAR_SAMPLES, f), join(dir, f));
  const broken = readFileSync(join(CIFAR_SAMPLES, files[0]!)).subarray(0, 200);
  writeFileSync(join(dir, '99999-broken.jpg'), Buffer.concat([broken, Buffer.from('not the rest of a jpeg')]));
  return dir;
}

/** The first half of a zoo model's bytes. */
export function truncatedModel(): string {
  const path = join(tempDir('truncated'), 'model.onnx');
  const bytes = readFileSync(ENC);
  writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
  return path;
}

/** Random bytes that are not a protobuf. */
export function corruptModel(): string {
  const path = join(tempDir('corrupt'), 'model.onnx');
  writeFileSync(path, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
  return path;
}

/** A well-formed model onnxruntime refuses: the policy with one Gemm renamed to an op that does not exist. */
export function modelThatDoesNotRun(): string {
  const model = decodeModel(new Uint8Array(readFileSync(POLICY)));
  const gemm = model.graph.node.find((n) => n.opType === 'Gemm')!;
  gemm.opType = 'NoSuchOp';
  const dir = tempDir('no-run');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, encodeModel(model));
  return path;
}
