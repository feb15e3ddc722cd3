/**
 * Unit tests without a broker: topic matching and the isolated fan-out. The RPC pair is in rpc.test.ts
 * (the broker suites in test/broker run the same classes over aedes and Mosquitto).
 */
import { describe, expect, it } from 'vitest';
import { Fanout } from './fanout.js';
import { innerFilter, isPublishTopic, topicMatches } from './topic-match.js';

describe('topicMatches', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['+/b', '/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$share/g/a/+', 'a/b', true],
    ['a/b', 'a/b/', false],
  ])('%s vs %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('strips the shared-subscription prefix and checks publish topics', () => {
    expect(innerFilter('$share/workers/akb/v1/dev/+/link/tx')).toBe('akb/v1/dev/+/link/tx');
    expect(isPublishTopic('akb/v1/dev/d1/status')).toBe(true);
    expect(isPublishTopic('akb/v1/+/x')).toBe(false);
    expect(isPublishTopic('')).toBe(false);
  });
});

describe('Fanout', () => {
  it('calls every listener although some throw or reject, and reports each failure', async () => {
    const failures: unknown[] = [];
    const f = new Fanout<number>((e) => failures.push(e));
    const seen: number[] = [];
    f.on(() => {
      throw new Error('sync');
    });
    f.on(() => Promise.reject(new Error('async')));
    const off = f.on((v) => void seen.push(v));
    expect(f.emit(1)).toBe(3);
    off();
    f.emit(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([1]);
    expect(failures).toHaveLength(4);
    expect(f.listenerFailures).toBe(4);
  });
});
