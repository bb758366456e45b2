import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/infrastructure/config.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique BullMQ prefix per test, so tests never see each other's jobs. */
export const uniquePrefix = (name: string): string => `test-${name}-${randomBytes(4).toString('hex')}`;

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
