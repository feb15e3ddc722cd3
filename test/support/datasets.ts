/**
 * The shared data sets (CIFAR-10 as packed JPEGs with an index, the Kodak suite) live outside the repository,
 * in `../shared/datasets` beside a checkout (see its SOURCES.md), or wherever `AKB_DATASETS` points. Tests that
 * reproduce a Python figure over a whole test split read them there. Being data that is not part of the
 * repository, not a program a machine can install, their absence skips those tests with a message even under
 * `AKB_REQUIRE_ALL=1`; `AKB_REQUIRE_DATASETS=1` makes it a failure.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The folder of data set `name` (e.g. `cifar10`): `$AKB_DATASETS/<name>`, else `<repo>/../shared/datasets/<name>`. */
export function datasetDir(name: string): string {
  const base = process.env.AKB_DATASETS ? resolve(process.env.AKB_DATASETS) : join(REPO, '..', 'shared', 'datasets');
  return join(base, name);
}

/** Whether a test needing an absent data set fails instead of being skipped. */
export const requireDatasets = (): boolean => process.env.AKB_REQUIRE_DATASETS === '1';

/** The CIFAR-10 test split (test.index.json and test.jpgs), or undefined. */
export function cifar10Test(): string | undefined {
  const dir = datasetDir('cifar10');
  return existsSync(join(dir, 'test.index.json')) && existsSync(join(dir, 'test.jpgs')) ? dir : undefined;
}
