/**
 * Isolated event fan-out: every listener is called, whatever the others do. A listener that throws, or
 * returns a promise that rejects, is reported to `onListenerError` and counted; the remaining listeners
 * still run and the emitter never sees the failure (zigbee2mqtt's event bus does the same).
 */
export type Listener<T> = (value: T) => unknown;

export class Fanout<T> {
  /** Copy-on-write: `emit` iterates the current array without copying it, `on`/`off` replace it. */
  private listeners: readonly Listener<T>[] = [];
  private failures = 0;

  constructor(private readonly onListenerError: (error: unknown, value: T) => void = () => undefined) {}

  /** Adds a listener; returns a function that removes it (idempotent). */
  on(listener: Listener<T>): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  get size(): number {
    return this.listeners.length;
  }

  /** How many times a listener threw or rejected. */
  get listenerFailures(): number {
    return this.failures;
  }

  /** Calls every listener with `value`; returns how many listeners there were. Never throws. */
  emit(value: T): number {
    const current = this.listeners;
    for (const listener of current) {
      try {
        const result = listener(value);
        if (isThenable(result)) result.then(undefined, (e: unknown) => this.fail(e, value));
      } catch (e) {
        this.fail(e, value);
      }
    }
    return current.length;
  }

  clear(): void {
    this.listeners = [];
  }

  private fail(error: unknown, value: T): void {
    this.failures++;
    try {
      this.onListenerError(error, value);
    } catch {
      // The error reporter itself failed: there is nobody left to tell, and the emitter must go on.
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
