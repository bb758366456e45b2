// Global setup of the `e2e-cluster` test project: the end-to-end suite runs a second time
// against a 3-master Redis Cluster started here on loopback ports (docs/design.md §6: a hash-tagged
// QUEUE_PREFIX keeps each queue on one slot; test/support/config.ts hash-tags its prefixes
// when REDIS_URL lists several nodes).
import type { TestProject } from 'vitest/node';
import { startRedisCluster } from './redis-cluster.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster({ nodes: 3 });
  project.provide('redisUrl', cluster.url);
  return () => cluster.stop();
}
