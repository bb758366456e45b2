import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

const exclude = [...configDefaults.exclude, 'test/**/fixture/**', 'test/**/fixtures/**'];

/**
 * A project on the real PostgreSQL and Redis: a template database migrated once per project
 * (each file clones its own), a queue prefix per test whose keys are deleted after the file,
 * and a check at the end that none of this run's keys is left. Files run one at a time: the
 * end-to-end and fault tests start processes and measure, and two cores are shared by all.
 */
function onServices(
  name: string,
  groupOrder: number,
  test: { include: string[]; exclude?: string[]; globalSetup?: string[] },
): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      name,
      include: test.include,
      exclude: [...exclude, ...(test.exclude ?? [])],
      globalSetup: ['test/support/global-setup.ts', ...(test.globalSetup ?? [])],
      setupFiles: ['test/support/clean-redis-keys.ts'],
      fileParallelism: false,
      sequence: { groupOrder },
    },
  };
}

// One project per top-level folder of test/ (test/support is shared by all), run in this order.
export default defineConfig({
  test: {
    // Child processes rather than worker threads: integration tests open PostgreSQL and
    // Redis connections and some code under test installs signal handlers.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      // No I/O: domain, use cases on in-memory fakes, the API on in-memory ports, config files.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude, sequence: { groupOrder: 0 } } },
      // The dependency rule of .dependency-cruiser.cjs, against a violating fixture and the tree.
      { extends: true, test: { name: 'layers', include: ['test/layers/**/*.test.ts'], exclude, sequence: { groupOrder: 0 } } },
      // In-process on real PostgreSQL and Redis: adapters, workers' processors, the API (app.inject).
      onServices('integration', 1, { include: ['test/integration/**/*.test.ts'] }),
      // Real processes (each Procfile role through tsx), real SMTP and HTTP receivers.
      onServices('e2e', 2, { include: ['test/e2e/**/*.test.ts'] }),
      // The end-to-end suite again, on a 3-master Redis Cluster (hash-tagged prefixes). Left out:
      // redelivery.test.ts cuts one Redis connection with a TCP proxy, which a cluster client
      // (redirected between nodes) would route around; on-redis-cluster.test.ts brings its own
      // cluster; bull-board.test.ts drives a browser and says nothing about Redis.
      onServices('e2e-cluster', 3, {
        include: ['test/e2e/**/*.test.ts'],
        exclude: ['test/e2e/redelivery.test.ts', 'test/e2e/on-redis-cluster.test.ts', 'test/e2e/bull-board.test.ts'],
        globalSetup: ['test/support/cluster-global-setup.ts'],
      }),
      // Faults injected under real processes (SIGKILL, stopped PostgreSQL, restarted Redis,
      // misbehaving receivers, fuzzed intake); each prints its figures.
      onServices('faults', 4, { include: ['test/faults/**/*.test.ts'] }),
    ],
  },
});
