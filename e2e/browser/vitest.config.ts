// The browser suite: `npm run test:browser` (run.sh installs Chromium when missing and builds the
// panel first). One app for the whole run (global-setup.ts), test files one after another.
// Independent of the root config: no shared PostgreSQL globalSetup, the app starts its own.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default defineConfig({
  test: {
    root,
    include: ['e2e/browser/**/*.test.ts'],
    globalSetup: ['e2e/browser/global-setup.ts'],
    setupFiles: ['e2e/browser/failure-screens.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Steps of a scenario build on each other; after a failure the rest would only add noise.
    bail: 0,
    sequence: { concurrent: false },
    // What the page shows after a debounced search or a live event may take a few seconds on a loaded
    // 2-core machine (vitest's 1 s default failed the table search once under a parallel load).
    expect: { poll: { timeout: 10_000 } },
  },
});
