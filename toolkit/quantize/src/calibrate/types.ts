import type * as ort from 'onnxruntime-node';

/** A calibrated activation range (float32 values). */
export interface TensorRange {
  min: number;
  max: number;
}

/** One calibration run's feeds: model input name -> tensor. */
export type CalibrationSample = Record<string, ort.Tensor>;
