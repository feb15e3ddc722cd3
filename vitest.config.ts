import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Tests run against source: each workspace package is aliased to its src/ entry, so no build is needed.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@akb\/protocol\/log$/, replacement: here('./protocol/src/log.ts') },
      { find: /^@akb\/protocol\/mqtt$/, replacement: here('./protocol/src/mqtt/index.ts') },
      { find: /^@akb\/protocol$/, replacement: here('./protocol/src/index.ts') },
      { find: /^@akb\/devices$/, replacement: here('./devices/src/index.ts') },
      { find: /^@akb\/flash\/limits$/, replacement: here('./toolkit/flash/src/bundle/limits.ts') },
      { find: /^@akb\/flash\/bootstrap$/, replacement: here('./toolkit/flash/src/bootstrap/index.ts') },
      { find: /^@akb\/flash$/, replacement: here('./toolkit/flash/src/index.ts') },
      { find: /^@akb\/quantize$/, replacement: here('./toolkit/quantize/src/index.ts') },
      { find: /^@akb\/toolkit$/, replacement: here('./toolkit/src/index.ts') },
      { find: /^@akb\/jscc\/image$/, replacement: here('./jscc/src/image/index.ts') },
      { find: /^@akb\/jscc$/, replacement: here('./jscc/src/index.ts') },
      { find: /^@akb\/link$/, replacement: here('./link/src/index.ts') },
      { find: /^@akb\/edge\/install$/, replacement: here('./runtime-edge/src/install/index.ts') },
      { find: /^@akb\/edge$/, replacement: here('./runtime-edge/src/index.ts') },
      { find: /^@akb\/cloud$/, replacement: here('./runtime-cloud/src/index.ts') },
    ],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
