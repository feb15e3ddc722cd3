/**
 * SeqFloors: floors survive a reopen, only rise, and an unusable file is refused (SEQ_STATE_CORRUPT) rather
 * than read as "nothing accepted", which would let every replay through.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { SeqFloors } from './seq-floor.js';

const dirs: string[] = [];
const fresh = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'akb-seq-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it('keeps each stream\'s floor across a reopen; a lower seq changes nothing; no temporary file is left', async () => {
  const dir = await fresh();
  const path = join(dir, 'signed-seq.json');
  const a = await SeqFloors.open(path);
  expect(a.get('ota-offer')).toBe(0);
  await a.raise('ota-offer', 1_767_225_600_000);
  await a.raise('kb-announce', 5);
  await a.raise('ota-offer', 7);
  const b = await SeqFloors.open(path);
  expect([b.get('ota-offer'), b.get('kb-announce'), b.get('kb-entry-response')]).toEqual([1_767_225_600_000, 5, 0]);
  expect(await readdir(dir)).toEqual(['signed-seq.json']);
});

it.each([
  ['not JSON', '{"v":1,'],
  ['another version', '{"v":2,"floors":{}}'],
  ['a negative floor', '{"v":1,"floors":{"ota-offer":-1}}'],
  ['a fractional floor', '{"v":1,"floors":{"ota-offer":1.5}}'],
  ['a floor past 2^53', '{"v":1,"floors":{"ota-offer":9007199254740993}}'],
  ['a stream name that is not one', '{"v":1,"floors":{"../x":1}}'],
  ['floors as an array', '{"v":1,"floors":[1]}'],
  ['over 64 KiB', `{"v":1,"floors":{}}${' '.repeat(70_000)}`],
])('refuses a file with %s', async (_why, text) => {
  const path = join(await fresh(), 'signed-seq.json');
  await writeFile(path, text);
  await expect(SeqFloors.open(path)).rejects.toMatchObject({ code: 'SEQ_STATE_CORRUPT' });
});

it('refuses a folder where the file should be', async () => {
  const dir = await fresh();
  await expect(SeqFloors.open(dir)).rejects.toMatchObject({ code: 'SEQ_STATE_CORRUPT' });
});
