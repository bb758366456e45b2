// Runs once per project (test/support is shared by several) before its test files:
// - migrates a template database that each test file clones (CREATE DATABASE ... TEMPLATE is a
//   file copy, far faster than migrating per file). The name is unique per run, so two test
//   runs on one machine never pull a template from under each other;
// - names the run, so that its queue prefixes (`test-<run>-…`, test/support/redis-keys.ts) can be
//   told from those of other runs, and fails the run if any of its keys are left in Redis.
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import { adminQuery, withDatabase } from './database.js';
import { redisClient, runPrefix, scanKeys } from './redis-keys.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const name = `conveyor_test_template_${process.pid}_${project.name.replace(/\W/g, '_')}`;
  await adminQuery(`drop database if exists ${name}`);
  await migrate(withDatabase(name));
  project.provide('templateDatabase', name);
  const runId = randomBytes(4).toString('hex');
  project.provide('testRunId', runId);
  return async () => {
    await adminQuery(`drop database if exists ${name} with (force)`);
    await expectNoKeysLeft(runId);
  };
}

/**
 * Every prefix of this run should be empty by now (a cluster's keys go with the cluster). A
 * key left is a test whose prefix was not taken from `uniquePrefix`, or a process still
 * writing after its file ended.
 */
async function expectNoKeysLeft(runId: string): Promise<void> {
  const redis = redisClient(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const keys = [...(await scanKeys(redis, `${runPrefix(runId)}*`)), ...(await scanKeys(redis, `{${runPrefix(runId)}*`))];
    if (keys.length === 0) return;
    const byPrefix = new Map<string, number>();
    for (const key of keys) {
      const prefix = key.slice(0, key.indexOf(':'));
      byPrefix.set(prefix, (byPrefix.get(prefix) ?? 0) + 1);
    }
    throw new Error(
      `${keys.length} Redis keys of this run were left behind: ${[...byPrefix].map(([prefix, n]) => `${prefix} (${n})`).join(', ')}`,
    );
  } finally {
    redis.disconnect();
  }
}
