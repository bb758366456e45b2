import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/**/fixture/**', 'test/**/fixtures/**'],
    // Child processes rather than worker threads: integration tests open PostgreSQL and
    // Redis connections and some code under test calls process.exit / signal handlers.
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    // Integration tests share one PostgreSQL database for now, so test files run one at a
    // time. Lift this once each file gets its own schema (STYLE.md: "a fresh schema or
    // truncation per file").
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
