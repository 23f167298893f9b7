import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // graphql has no "exports" map: Node (and so Pothos, yoga) loads its CommonJS build while Vite would
  // pick the .mjs one for our code — two instances of graphql. Resolve ours to the same file Node does.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['core/src/**/*.test.ts', 'api/test/**/*.test.ts', 'worker/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/per-file-database.ts'],
    pool: 'forks',
    // 2 cores: two test files at a time; each gets its own database in one shared PostgreSQL.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
