/**
 * Input patches (im2col, one patch at a time): for a weighted node and one value of its input
 * activation, the vector x that output channel o's weight row multiplies at one output position, so
 * that `y[o, position] = alpha * (row_o . x) + bias`. Zero padding, and the taps of a strided
 * ConvTranspose that fall between input pixels, are zeros of the patch.
 *
 * Geometry follows the ONNX operator definitions (Conv, ConvTranspose, Gemm, MatMul), auto_pad and
 * ConvTranspose's output_shape included (an odd total padding: the extra one at the end for
 * SAME_UPPER, at the start for SAME_LOWER, for both ops, as onnxruntime 1.30 computes it);
 * patches.test.ts checks every layout against onnxruntime's own output.
 * 1-D convolutions are treated as 2-D ones of height 1.
 */
import { AkbError } from '@akb/protocol';
import { attrInt, attrInts, attrString } from '../onnx/graph.js';
import type { Node } from '../onnx/types.js';
import type { LayerTarget } from './targets.js';

/** The patches of one input value. */
export interface PatchSource {
  /** Patch positions in this input (batch included). */
  positions: number;
  /** Writes the patch of group `g` at position `p` into `out` (length = the target's rowLength). */
  fill(p: number, g: number, out: Float64Array): void;
}

/** 2-D view of a convolution's spatial attributes (a 1-D one has height 1). */
interface Conv2d {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** Padding at the start of each axis. */
  ph: number;
  pw: number;
  outH: number;
  outW: number;
}

function badInput(t: LayerTarget, dims: readonly number[], expected: string): AkbError {
  return new AkbError('BAD_CALIBRATION_TENSOR', `node '${t.node}': its input '${t.input}' has shape [${dims.join(', ')}], expected ${expected}`, {
    hint: 'check the calibration data against the model inputs',
  });
}

/** Spatial attributes padded to two axes (1-D: a leading axis of size 1 with no stride or padding). */
function spatial(node: Node, rank: number, name: string, fallback: number): number[] {
  const v = attrInts(node, name) ?? [];
  const n = rank - 2;
  const begin = Array.from({ length: n }, (_, i) => v[i] ?? fallback);
  const end = name === 'pads' ? Array.from({ length: n }, (_, i) => v[n + i] ?? fallback) : [];
  return n === 1 ? (name === 'pads' ? [0, begin[0]!, 0, end[0]!] : [fallback, begin[0]!]) : [...begin, ...end];
}

/** The start padding from a total padding: SAME_UPPER puts the odd one at the end, SAME_LOWER at the start. */
function splitPad(total: number, autoPad: string): number {
  return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
}

function convGeometry(t: LayerTarget, node: Node, dims: readonly number[]): Conv2d {
  const rank = t.weightDims.length;
  const kernel = rank === 3 ? [1, t.weightDims[2]!] : [t.weightDims[2]!, t.weightDims[3]!];
  const inHW = rank === 3 ? [1, dims[2]!] : [dims[2]!, dims[3]!];
  const strides = spatial(node, rank, 'strides', 1);
  const dil = spatial(node, rank, 'dilations', 1);
  const pads = spatial(node, rank, 'pads', 0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const convT = t.op === 'ConvTranspose';
  const outPad = spatial(node, rank, 'output_padding', 0);
  const outShape = attrInts(node, 'output_shape');
  const begin: number[] = [];
  const out: number[] = [];
  for (let a = 0; a < 2; a++) {
    const span = (kernel[a]! - 1) * dil[a]! + 1;
    const s = strides[a]!;
    const size = inHW[a]!;
    const given = outShape ? (rank === 3 ? [1, outShape[0]!] : outShape.slice(-2))[a] : undefined;
    if (convT) {
      const full = s * (size - 1) + outPad[a]! + span;
      if (given !== undefined || autoPad.startsWith('SAME')) {
        const o = given ?? size * s;
        begin.push(splitPad(Math.max(0, full - o), autoPad));
        out.push(o);
      } else {
        begin.push(autoPad === 'VALID' ? 0 : pads[a]!);
        out.push(full - (autoPad === 'VALID' ? 0 : pads[a]! + pads[a + 2]!));
      }
    } else if (autoPad.startsWith('SAME')) {
      const o = Math.ceil(size / s);
      begin.push(splitPad(Math.max(0, (o - 1) * s + span - size), autoPad));
      out.push(o);
    } else {
      const [pb, pe] = autoPad === 'VALID' ? [0, 0] : [pads[a]!, pads[a + 2]!];
      begin.push(pb);
      out.push(Math.floor((size + pb + pe - span) / s) + 1);
    }
  }
  return { kh: kernel[0]!, kw: kernel[1]!, sh: strides[0]!, sw: strides[1]!, dh: dil[0]!, dw: dil[1]!, ph: begin[0]!, pw: begin[1]!, outH: out[0]!, outW: out[1]! };
}

function convSource(t: LayerTarget, node: Node, x: Float32Array, dims: readonly number[]): PatchSource {
  if (dims.length !== t.weightDims.length) throw badInput(t, dims, `${t.weightDims.length} dimensions`);
  const convT = t.op === 'ConvTranspose';
  const C = dims[1]!;
  const wantC = convT ? t.weightDims[0]! : t.weightDims[1]! * t.groups;
  if (C !== wantC) throw badInput(t, dims, `${wantC} channels`);
  const g2 = convGeometry(t, node, dims);
  const H = dims.length === 3 ? 1 : dims[2]!;
  const W = dims[dims.length - 1]!;
  const cg = C / t.groups;
  const perImage = g2.outH * g2.outW;
  const { kh, kw, sh, sw, dh, dw, ph, pw } = g2;
  return {
    positions: dims[0]! * perImage,
    fill(p, g, out) {
      const n = Math.floor(p / perImage);
      const oh = Math.floor((p % perImage) / g2.outW);
      const ow = p % g2.outW;
      let k = 0;
      for (let c = 0; c < cg; c++) {
        const plane = (n * C + g * cg + c) * H * W;
        for (let i = 0; i < kh; i++) {
          let ih: number;
          if (convT) {
            const num = oh + ph - i * dh;
            ih = num % sh === 0 ? num / sh : -1;
          } else ih = oh * sh - ph + i * dh;
          for (let j = 0; j < kw; j++, k++) {
            let iw: number;
            if (convT) {
              const num = ow + pw - j * dw;
              iw = num % sw === 0 ? num / sw : -1;
            } else iw = ow * sw - pw + j * dw;
            out[k] = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[plane + ih * W + iw]! : 0;
          }
        }
      }
    },
  };
}

function matrixSource(t: LayerTarget, node: Node, x: Float32Array, dims: readonly number[]): PatchSource {
  const K = t.rowLength;
  const transA = t.op === 'Gemm' && attrInt(node, 'transA', 0) === 1;
  if (t.op === 'Gemm' && dims.length !== 2) throw badInput(t, dims, 'a 2-D matrix');
  if (transA) {
    if (dims[0] !== K) throw badInput(t, dims, `${K} rows (transA)`);
    const M = dims[1]!;
    return {
      positions: M,
      fill(p, _g, out) {
        for (let k = 0; k < K; k++) out[k] = x[k * M + p]!;
      },
    };
  }
  if (dims[dims.length - 1] !== K) throw badInput(t, dims, `a last dimension of ${K}`);
  return {
    positions: x.length / K,
    fill(p, _g, out) {
      const base = p * K;
      for (let k = 0; k < K; k++) out[k] = x[base + k]!;
    },
  };
}

/** The patches of one value `x` (shape `dims`) of the target's input. */
export function patchSource(t: LayerTarget, node: Node, x: Float32Array, dims: readonly number[]): PatchSource {
  return t.op === 'Conv' || t.op === 'ConvTranspose' ? convSource(t, node, x, dims) : matrixSource(t, node, x, dims);
}
