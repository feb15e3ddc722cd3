import { describe, expect, it } from 'vitest';
import { isAkbError } from '@akb/protocol';
import { Partition, rendezvousOwner } from './partition.js';
import { DeviceScope } from './scope.js';

const ids = Array.from({ length: 6000 }, (_, i) => `cam-${i.toString().padStart(4, '0')}`);

describe('rendezvous partitioning', () => {
  it('every worker computes the same single owner for each device', () => {
    const n = 3;
    const workers = Array.from({ length: n }, (_, i) => new Partition(i, n));
    for (const id of ids.slice(0, 500)) {
      expect(workers.filter((w) => w.owns(id)).map((w) => w.index)).toEqual([workers[0]!.owner(id)]);
    }
  });

  it('spreads devices evenly (each of 2, 3, 5, 8 workers within 10 % of its share)', () => {
    for (const n of [2, 3, 5, 8]) {
      const counts = new Array<number>(n).fill(0);
      const p = new Partition(0, n);
      for (const id of ids) counts[p.owner(id)]!++;
      const share = ids.length / n;
      for (const c of counts) expect(Math.abs(c - share) / share).toBeLessThan(0.1);
    }
  });

  it('going from n to n+1 workers moves only the devices the new worker takes, about 1/(n+1)', () => {
    for (const n of [2, 4]) {
      const before = new Partition(0, n);
      const after = new Partition(0, n + 1);
      let moved = 0;
      for (const id of ids) {
        const a = before.owner(id);
        const b = after.owner(id);
        if (a !== b) {
          moved++;
          expect(b).toBe(n);
        }
      }
      expect(Math.abs(moved / ids.length - 1 / (n + 1))).toBeLessThan(0.03);
    }
  });

  it('names the owner among explicit worker ids', () => {
    expect(rendezvousOwner('cam-01', ['w0'])).toBe(0);
    expect(rendezvousOwner('cam-01', [])).toBe(-1);
  });

  it('parses i/n and refuses anything else with BAD_PARTITION (exit 2)', () => {
    expect(Partition.parse(' 1 / 3 ').describe()).toBe('1/3');
    for (const bad of ['3/3', '-1/3', '1/0', '1', 'a/b', '1/257', '0/3/1', '']) {
      try {
        Partition.parse(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(isAkbError(e) && e.code === 'BAD_PARTITION' && e.exitCode === 2).toBe(true);
      }
    }
  });
});

describe('a partitioned scope', () => {
  it('keeps the devices its worker owns, subscribes by wildcard, and is not "everything"', () => {
    const p = new Partition(1, 2);
    const scope = DeviceScope.all().withPartition(p);
    expect(scope.everything).toBe(false);
    expect(scope.filters('link/rx')).toEqual(['akb/v1/dev/+/link/rx']);
    for (const id of ids.slice(0, 200)) expect(scope.has(id)).toBe(p.owns(id));
    expect(scope.describe()).toBe('every device of partition 1/2');
  });

  it('drops named ids another worker owns from its per-device filters', () => {
    const p = new Partition(0, 2);
    const named = ids.slice(0, 20);
    const scope = DeviceScope.parse(named.join(',')).withPartition(p);
    expect(scope.filters('status')).toEqual(named.filter((id) => p.owns(id)).map((id) => `akb/v1/dev/${id}/status`));
    expect(scope.has('other-device')).toBe(false);
  });

  it('a partition of one is no partition', () => {
    expect(DeviceScope.all().withPartition(new Partition(0, 1)).everything).toBe(true);
  });
});
