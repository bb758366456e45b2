// The Redis of the tests and the queue prefixes they use. Every prefix a test file takes from
// `uniquePrefix` is remembered, and `deleteRegisteredKeys` (run after each file by
// test/support/clean-redis-keys.ts) deletes the keys under it; the global setup then checks
// that no key of its run is left.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by the e2e-cluster project: the seed nodes of its Redis Cluster. */
    redisUrl?: string;
    /** Set by test/support/global-setup.ts: names this run's prefixes (`test-<run>-…`). */
    testRunId?: string;
  }
}

/**
 * The Redis the tests use: the e2e-cluster project's cluster, TEST_REDIS_URL, or the local one
 * (`REDIS_URL` of test/support/config.ts). A function, because `inject` works only in a test
 * file and the global setup imports this module too.
 */
export const testRedisUrl = (): string => inject('redisUrl') ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The first part of every prefix this test run takes. */
export const runPrefix = (runId: string): string => `test-${runId}-`;

const registered = new Set<string>();

/**
 * A unique BullMQ prefix (QUEUE_PREFIX), so tests never see each other's jobs; hash-tagged on
 * a cluster so that each queue's keys share one slot. Its keys are deleted after the file.
 */
export function uniquePrefix(name: string): string {
  const prefix = `${runPrefix(inject('testRunId') ?? 'local')}${name}-${randomBytes(4).toString('hex')}`;
  const tagged = testRedisUrl().includes(',') ? `{${prefix}}` : prefix;
  registered.add(tagged);
  return tagged;
}

/** A client of `url` (one node, or a cluster when it lists several seed nodes). */
export function redisClient(url: string = testRedisUrl()): Redis | Cluster {
  const urls = url.split(',').map((part) => new URL(part.trim()));
  if (urls.length === 1) return new Redis(url, { maxRetriesPerRequest: 1 });
  return new Cluster(urls.map((seed) => ({ host: seed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(seed.port || 6379) })));
}

const globEscape = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

/** Every key matching `pattern` (a SCAN glob) on every master of `redis`. */
export async function scanKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

/** Unlinks every key under `prefix` (`<prefix>:*`); returns how many there were. */
export async function deleteKeys(prefix: string, redis?: Redis | Cluster): Promise<number> {
  const client = redis ?? redisClient();
  try {
    const keys = await scanKeys(client, `${globEscape(prefix)}:*`);
    // One key per UNLINK: on a cluster, keys of several slots cannot share a command.
    for (let i = 0; i < keys.length; i += 500) {
      const pipeline = client.pipeline();
      for (const key of keys.slice(i, i + 500)) pipeline.unlink(key);
      await pipeline.exec();
    }
    return keys.length;
  } finally {
    if (!redis) client.disconnect();
  }
}

/**
 * Deletes the keys of every prefix `uniquePrefix` gave out in this file. A prefix used on a
 * private Redis (the fault tests) has no keys here; they go with that server.
 */
export async function deleteRegisteredKeys(): Promise<void> {
  if (registered.size === 0) return;
  const client = redisClient();
  try {
    for (const prefix of registered) await deleteKeys(prefix, client);
    registered.clear();
  } finally {
    client.disconnect();
  }
}
