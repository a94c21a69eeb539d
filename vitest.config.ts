import { defineConfig } from 'vitest/config';

// One suite. Tests that need PostgreSQL use 127.0.0.1:5432 (TEST_DATABASE_URL overrides it);
// tests that need Synapse start it through test/support/synapse.ts (scripts/synapse.sh).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
  },
});
