/** The garbage gate: collects before a decode only once enough has died, and never without a collector. */
import { describe, expect, it } from 'vitest';
import { GarbageGate } from './memory.js';

describe('GarbageGate', () => {
  it('collects once the threshold has died, then counts again from zero', () => {
    let runs = 0;
    const gate = new GarbageGate(() => runs++, 100);
    expect(gate.collectIfDue()).toBe(false);
    gate.died(60);
    expect(gate.collectIfDue()).toBe(false);
    gate.died(40);
    expect(gate.collectIfDue()).toBe(true);
    expect(gate.collectIfDue()).toBe(false);
    expect([runs, gate.collections]).toEqual([1, 1]);
  });

  it('does nothing without a collector (node without --expose-gc)', () => {
    const gate = new GarbageGate(undefined, 1);
    gate.died(1 << 30);
    expect([gate.enabled, gate.collectIfDue(), gate.collections]).toEqual([false, false, 0]);
  });
});
