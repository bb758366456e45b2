import { configDefaults, defineConfig } from 'vitest/config';

const exclude = [...configDefaults.exclude, 'test/**/fixture/**', 'test/**/fixtures/**'];

export default defineConfig({
  test: {
    // Child processes rather than worker threads: integration tests open PostgreSQL and
    // Redis connections and some code under test installs signal handlers.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...exclude, 'test/unit/**'],
          // Migrates a template database once; each file clones its own from it and uses its
          // own queue prefix. Files still run one at a time: the end-to-end and fault tests
          // start processes and measure, and two cores are shared by all of them.
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // The end-to-end suite again, on a 3-master Redis Cluster (hash-tagged prefixes).
          // redelivery.test.ts is left out: it cuts one Redis connection with a TCP proxy,
          // which a cluster client (redirected between nodes) would route around.
          name: 'e2e-cluster',
          include: ['test/e2e/**/*.test.ts'],
          exclude: [...exclude, 'test/e2e/redelivery.test.ts'],
          globalSetup: ['test/support/global-setup.ts', 'test/support/cluster-global-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
