// The mail-stack suite: real Postfix + Dovecot (+ sievec/sieve-test). Run with
// `npm run test:mailstack` (installs the packages when missing, needs root).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

export default defineConfig({
  // As in the root vitest.config.ts: one graphql instance for our code and for Pothos/yoga (the
  // panel runs in-process in panel.test.ts).
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    root,
    include: ['e2e/mailstack/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120000,
    hookTimeout: 120000,
    // The suite's files skip themselves unless this is set, so a plain `vitest run` from the
    // repository root (which may pick up e2e files) never starts daemons by accident.
    env: { MAILSTACK_E2E: '1' },
  },
});
