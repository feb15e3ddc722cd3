/**
 * A model's data inputs (graph inputs that are not initializers) and the check of a calibration
 * sample against them: names, element types, static dimensions and finite values, with one-line errors
 * that name the input and say what was expected and what was given.
 */
import { AkbError } from '@akb/protocol';
import type * as ort from 'onnxruntime-node';
import type { Model } from '../onnx/types.js';
import { countNonFinite, firstNonFinite, nonFiniteName } from './finite.js';
import type { CalibrationSample } from './types.js';

/** One model input: element type and dims (a number, a symbolic name, or undefined when unknown). */
export interface ModelInput {
  name: string;
  elemType: number;
  dims: (number | string | undefined)[] | undefined;
}

const ORT_TYPES: Record<number, ort.Tensor.Type> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
};

/** onnxruntime-node's type name for an ONNX element type ('type N' when it has none). */
export function ortTypeName(elemType: number): string {
  return ORT_TYPES[elemType] ?? `type ${elemType}`;
}

/** The graph inputs that need a value (initializers listed as inputs are optional and left out). */
export function modelInputs(model: Model): ModelInput[] {
  const inits = new Set(model.graph.initializer.map((t) => t.name));
  return model.graph.input
    .filter((v) => !inits.has(v.name))
    .map((v) => {
      const tt = v.type?.tensorType;
      return {
        name: v.name,
        elemType: tt?.elemType ?? 0,
        dims: tt?.shape?.dim.map((d) => d.dimValue ?? (d.dimParam || undefined)),
      };
    });
}

/** `[N, 3, 32, 32]`, with `?` for an unknown dimension and `*` for an unknown rank. */
export function formatDims(dims: readonly (number | string | undefined)[] | undefined): string {
  return dims === undefined ? '[*]' : `[${dims.map((d) => (d === undefined ? '?' : String(d))).join(', ')}]`;
}

/** Checks one sample against the model's inputs; throws a one-line AkbError('BAD_CALIBRATION_DATA'). */
export function checkSample(sample: CalibrationSample, inputs: readonly ModelInput[], index: number): void {
  const where = `calibration sample ${index}`;
  const wanted = new Set(inputs.map((i) => i.name));
  for (const name of Object.keys(sample)) {
    if (!wanted.has(name)) {
      throw new AkbError('BAD_CALIBRATION_DATA', `${where}: the model has no input '${name}' (its inputs: ${[...wanted].join(', ')})`);
    }
  }
  for (const input of inputs) {
    const t = sample[input.name];
    const expected = `${ortTypeName(input.elemType)} ${formatDims(input.dims)}`;
    if (t === undefined) {
      throw new AkbError('BAD_CALIBRATION_DATA', `${where}: no value for input '${input.name}' (expects ${expected})`);
    }
    const got = `${t.type} ${formatDims(t.dims.map(Number))}`;
    const typeOk = input.elemType === 0 || t.type === ORT_TYPES[input.elemType];
    const shapeOk =
      input.dims === undefined ||
      (input.dims.length === t.dims.length && input.dims.every((d, i) => typeof d !== 'number' || d === Number(t.dims[i])));
    if (!typeOk || !shapeOk) {
      throw new AkbError('BAD_CALIBRATION_DATA', `${where}: input '${input.name}' expects ${expected}, got ${got}`);
    }
    if (t.type === 'float32' || t.type === 'float64') {
      const data = t.data as Float32Array | Float64Array;
      const bad = firstNonFinite(data);
      if (bad !== -1) {
        throw new AkbError(
          'NON_FINITE_DATA',
          `${where}: input '${input.name}' holds ${nonFiniteName(data[bad]!)} at flat index ${bad} (${countNonFinite(data)} of ${data.length} values are not finite): calibration data must be finite numbers`,
        );
      }
    }
  }
}
