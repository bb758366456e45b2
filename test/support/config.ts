import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/infrastructure/config.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by the e2e-cluster project: the seed nodes of its Redis Cluster. */
    redisUrl?: string;
  }
}

/** The Redis the tests use: the e2e-cluster project's cluster, TEST_REDIS_URL, or the local one. */
export const REDIS_URL = inject('redisUrl') ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const ON_CLUSTER = REDIS_URL.includes(',');

/**
 * A unique BullMQ prefix per test, so tests never see each other's jobs; hash-tagged on a
 * cluster so that each queue's keys share one slot.
 */
export const uniquePrefix = (name: string): string => {
  const prefix = `test-${name}-${randomBytes(4).toString('hex')}`;
  return ON_CLUSTER ? `{${prefix}}` : prefix;
};

/** A development config on the given database and a fresh queue prefix. */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: uniquePrefix('q'),
    LOG_LEVEL: 'silent',
    API_KEYS: 'test-key',
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'secret',
    ...overrides,
  });
}
