import { defineConfig } from 'vitest/config';

// `npm run test:workers`: the opt-in heavy tests (`test/**/*.heavy.ts`), which the default
// suite (vitest.config.ts, `*.test.ts`) leaves out: Synapse in worker mode, kill -9s.
export default defineConfig({
  test: {
    include: ['test/**/*.heavy.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
  },
});
