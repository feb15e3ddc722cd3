/**
 * Fuzzing the readers of the two catalogue files a user drops in: device profiles (devices' readProfile)
 * and model cards (jscc's loadModel, which reads a card, then the ONNX file it names, checked against the
 * card's size and SHA-256). Real files: the shipped profiles and the DQN policy's card, with a field set,
 * removed or added, or their bytes edited. Property: a profile or model comes back, or an AkbError
 * (PROFILE_INVALID for a profile; for a card, the typed error loadModel documents), never another error. 1,600 cases per CI run
 * (test/fuzz/runs.ts scales them).
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAkbError } from '@akb/protocol';
import { readProfile } from '@akb/devices';
import { loadModel } from '@akb/jscc';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { editArbitrary, edited, hostileJson, type Edit, type Json } from './json-edits.js';
import { fuzzRuns } from './runs.js';


const root = fileURLToPath(new URL('../../', import.meta.url));
const PROFILES = ['jetson', 'rpi'].flatMap((d) =>
  readdirSync(join(root, 'devices', d))
    .filter((f) => f.endsWith('.profile.json'))
    .map((f) => readFileSync(join(root, 'devices', d, f), 'utf8')),
);
const POLICY = join(root, 'models/zoo/akb-dqn-policy');
const CARD = readFileSync(join(POLICY, 'card.json'), 'utf8');

const dir = mkdtempSync(join(tmpdir(), 'akb-cards-fuzz-'));
copyFileSync(join(POLICY, 'model.onnx'), join(dir, 'model.onnx'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Change = { kind: 'field'; pick: number; edit: Edit } | { kind: 'bytes'; edits: [number, number][] };

const hostile = hostileJson([-1, 0, 2 ** 53 + 1, 1e308, '', '../model.onnx', '/dev/zero', 'model.onnx', 'x.onnx', '0'.repeat(64), [], {}, null]);
const edit = editArbitrary(hostile);
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('field' as const), pick: fc.nat(), edit }),
  fc.record({ kind: fc.constant('bytes' as const), edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 3 }) }),
);

function apply(text: string, c: Change): Buffer {
  if (c.kind === 'field') return Buffer.from(JSON.stringify(edited(JSON.parse(text) as { [key: string]: Json }, c.pick, c.edit)));
  const b = Buffer.from(text);
  for (const [at, v] of c.edits) b[at % b.length] = v;
  return b;
}

function expectTyped(e: unknown): void {
  expect(isAkbError(e), String(e)).toBe(true);
  expect((e as Error).message).not.toContain('\n');
}

describe('device profile and model card files under fuzzing', () => {
  it('readProfile: a shipped profile with a field or bytes changed is a profile or PROFILE_INVALID', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PROFILES), change, async (text, c) => {
        const file = join(dir, `p${n++}.profile.json`);
        writeFileSync(file, apply(text, c));
        try {
          const p = await readProfile(file);
          expect(typeof p.id).toBe('string');
        } catch (e) {
          expectTyped(e);
          expect((e as { code: string }).code).toBe('PROFILE_INVALID');
        } finally {
          rmSync(file, { force: true });
        }
      }),
      fuzzRuns(800),
    );
  });

  it('loadModel: the policy card with a field or bytes changed loads the model or refuses with an AkbError', async () => {
    await fc.assert(
      fc.asyncProperty(change, async (c) => {
        writeFileSync(join(dir, 'card.json'), apply(CARD, c));
        try {
          const m = await loadModel(dir);
          expect(m.bytes.length).toBe(m.card.onnx.sizeBytes);
        } catch (e) {
          expectTyped(e);
        }
      }),
      fuzzRuns(800),
    );
  });
});
