/**
 * One inference interface, several backends (onnxruntime-node on the CPU, its CUDA and TensorRT execution
 * providers where the installed runtime has them, onnxruntime-web's WASM where no native binary exists).
 * Tensors cross the interface as plain typed arrays with their shape, so callers never import a runtime.
 */
import type { InferenceBackend as BackendName } from '@akb/protocol';

export type { BackendName };

export interface Tensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface InferenceSession {
  readonly backend: BackendName;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface InferenceBackend {
  readonly name: BackendName;
  /** Creates a session from ONNX bytes; rejects when this backend cannot run here (missing binary, no GPU...). */
  createSession(model: Uint8Array): Promise<InferenceSession>;
}
