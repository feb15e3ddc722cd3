export * from './onnx/types.js';
export * from './onnx/errors.js';
export * from './onnx/io.js';
export * from './onnx/tensor.js';
export * from './onnx/float16.js';
