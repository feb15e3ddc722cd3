import { describe, expect, it } from 'vitest';
import { BoundedSet } from './bounded-set.js';

describe('BoundedSet', () => {
  it('tells duplicates and forgets only the oldest keys beyond its capacity', () => {
    const s = new BoundedSet(3);
    expect(['a', 'b', 'c'].map((k) => s.add(k))).toEqual([true, true, true]);
    expect(s.add('b')).toBe(false);
    expect(s.add('d')).toBe(true);
    expect([s.has('a'), s.has('b'), s.has('c'), s.has('d'), s.size]).toEqual([false, true, true, true, 3]);
  });

  it('holds memory bounded under a million keys', () => {
    const s = new BoundedSet(1000);
    for (let i = 0; i < 1_000_000; i++) s.add(`dev/1/${i}`);
    expect(s.size).toBe(1000);
    expect(s.has('dev/1/999999')).toBe(true);
    expect(s.has('dev/1/998999')).toBe(false);
  });
});
