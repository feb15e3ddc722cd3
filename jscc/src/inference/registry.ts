/**
 * The backend registry: an instance (tests make their own) that tries backends in a device profile's
 * order and reports every failure at once when none works.
 */
import { AkbError } from '@akb/protocol';
import type { BackendName, InferenceBackend, InferenceSession } from './backend.js';
import { ortNodeBackend } from './ort-node.js';
import { ortWebBackend } from './ort-web.js';

export class BackendRegistry {
  private readonly backends = new Map<BackendName, InferenceBackend>();

  register(backend: InferenceBackend): this {
    this.backends.set(backend.name, backend);
    return this;
  }

  get names(): BackendName[] {
    return [...this.backends.keys()];
  }

  /** A session from the first backend in `order` that can run `model`; else one error naming every failure. */
  async createSession(model: Uint8Array, order: readonly BackendName[], what = 'model'): Promise<InferenceSession> {
    const failures: string[] = [];
    for (const name of order) {
      const backend = this.backends.get(name);
      if (!backend) {
        failures.push(`${name}: not registered`);
        continue;
      }
      try {
        return await backend.createSession(model);
      } catch (e) {
        failures.push(`${name}: ${firstLine(e)}`);
      }
    }
    throw new AkbError('NO_BACKEND', `no inference backend could load the ${what}: ${failures.join('; ') || 'no backends listed'}`, {
      hint: 'check the model file, or the backends in the device profile',
    });
  }
}

/** The default registry: every backend akb ships. */
export function defaultBackends(): BackendRegistry {
  return new BackendRegistry()
    .register(ortNodeBackend('onnxruntime-node-cpu'))
    .register(ortNodeBackend('onnxruntime-node-cuda'))
    .register(ortNodeBackend('onnxruntime-node-tensorrt'))
    .register(ortWebBackend());
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.split('\n')[0] ?? '').slice(0, 300);
}
