/**
 * Calibration: activation ranges for static quantization by onnxruntime's MinMax, Entropy and
 * Percentile methods, gathered through onnxruntime-node (run.ts), and calibration data loading (data.ts).
 */
export { calibrate, type CalibrateOptions } from './run.js';
export { resolveCalibrationOptions, type CalibrationMethod, type ResolvedCalibrationOptions } from './collector.js';
export { modelInputs, type ModelInput } from './inputs.js';
export type { CalibrationSample, TensorRange } from './types.js';
export { loadCalibrationSamples, type LoadSamplesOptions } from './data.js';
export { parseNpy, readNpy, type NpyArray } from './npy.js';
