/**
 * `akb-cloud --partition` and a `--broker` list from the command line (the built akb-cloud, as a user runs
 * it): bad values are one line and exit 2; a worker given a dead broker first connects to the next one and
 * says which partition it serves.
 */
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { spawnCloud } from '../cloud/support.js';
import { freePort, startAedes, uniqueId, type BrokerHandle } from '../support/index.js';

describe('akb-cloud --partition and a broker list', () => {
  let broker: BrokerHandle;
  let dead: string;

  beforeAll(async () => {
    broker = await startAedes();
    dead = `mqtt://127.0.0.1:${await freePort()}`;
  });
  afterAll(() => broker?.close());

  it.each([
    [['--partition', '2/2'], /--partition "2\/2": the worker index runs from 0 to 1/],
    [['--partition', 'half'], /expected <index>\/<count>/],
    [['--partition', '0/2', '--shared'], /--partition and --shared .* choose one/],
    [['--broker', 'mqtt://127.0.0.1:1,,mqtt://127.0.0.1:2'], /broker URL 2 of 3 is empty/],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const c = spawnCloud(args);
    const exit = await c.exited;
    expect(exit.code, c.output()).toBe(2);
    expect(c.output()).toMatch(message);
    expect(c.output().trim().split('\n')).toHaveLength(1);
  });

  it('serves its partition, connected through the first broker of the list that answers', async () => {
    const c = spawnCloud(['--broker', `${dead},${broker.url}`, '--partition', '1/2', '--client-id', uniqueId('cloud'), '--no-telemetry']);
    try {
      const line = await c.line(/^akb-cloud: watching/);
      expect(line).toContain('every device of partition 1/2');
      c.child.kill('SIGTERM');
      expect((await c.exited).code).toBe(0);
    } finally {
      await c.kill();
    }
  });
});
