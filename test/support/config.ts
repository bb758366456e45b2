import { loadConfig, type Config } from '../../src/infrastructure/config.js';
import { WebhookSecretCipher } from '../../src/infrastructure/webhooks/secret-cipher.js';
import { testRedisUrl, uniquePrefix } from './redis-keys.js';

/** The Redis the tests use: the e2e-cluster project's cluster, TEST_REDIS_URL, or the local one. */
export const REDIS_URL = testRedisUrl();

/**
 * RATE_LIMIT_PER_MINUTE of the tests' apps and processes: the fuzz tests, the 1000-round
 * ordering tests and the load tests send more per key than the production default allows.
 */
export const TEST_RATE_LIMIT_PER_MINUTE = 10_000_000;

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
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    ...overrides,
  });
}

/** The cipher of a test config's webhook secrets (the development key, unless `keys` is given). */
export function testSecretCipher(keys?: string): WebhookSecretCipher {
  return new WebhookSecretCipher(loadConfig({ NODE_ENV: 'test', ...(keys ? { WEBHOOK_SECRET_KEYS: keys } : {}) }).webhookSecretKeys);
}
