import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/infrastructure/config.js';

describe('loadConfig', () => {
  it('applies local defaults in development and says which', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/conveyor');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.port).toBe(3000);
    expect(config.apiKeys).toEqual(['dev-key']);
    expect(config.webhookRetrySchedule).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect([config.commandGroupMax, config.commandGroupTransactions]).toEqual([32, 2]);
    expect(config.commandAttempts).toBe(40);
    expect(config.defaultsApplied.join(' ')).toMatch(/API_KEYS/);
    expect(config.defaultsApplied.join(' ')).toMatch(/ADMIN_PASSWORD/);
  });

  it('stops a production process that lacks its secrets, naming each', () => {
    const error = (() => {
      try {
        loadConfig({ NODE_ENV: 'production' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/API_KEYS/);
    expect(problems).toMatch(/ADMIN_USER and ADMIN_PASSWORD/);
    expect(problems).toMatch(/SMTP_URL/);
  });

  it('accepts a complete production configuration without defaults', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      API_KEYS: 'a, b',
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'pw',
      SMTP_URL: 'smtp://mail:25',
      WEBHOOK_ALLOW_PRIVATE: 'false',
    });
    expect(config.apiKeys).toEqual(['a', 'b']);
    expect(config.defaultsApplied).toEqual([]);
    expect(config.webhookAllowPrivate).toBe(false);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ WEBHOOK_RETRY_SCHEDULE: '5,x' }, 'WEBHOOK_RETRY_SCHEDULE'],
    [{ WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY'],
    [{ COMMAND_GROUP_MAX: '0' }, 'COMMAND_GROUP_MAX'],
    [{ COMMAND_GROUP_TRANSACTIONS: 'many' }, 'COMMAND_GROUP_TRANSACTIONS'],
    [{ COMMAND_ATTEMPTS: '0' }, 'COMMAND_ATTEMPTS'],
    [{ COMMAND_ATTEMPTS: '1001' }, 'COMMAND_ATTEMPTS'],
    [{ COMMAND_ATTEMPTS: '2.5' }, 'COMMAND_ATTEMPTS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ WEBHOOK_ALLOW_PRIVATE: 'yes' }, 'WEBHOOK_ALLOW_PRIVATE'],
  ])('names the variable that is wrong: %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^invalid configuration:\\n  - ${name}: `));
  });

  it('takes several redis URLs as cluster seed nodes, with a hash-tagged prefix', () => {
    const cluster = 'redis://127.0.0.1:7001,redis://127.0.0.1:7002';
    expect(loadConfig({ REDIS_URL: cluster, QUEUE_PREFIX: '{conveyor}' }).redisUrl).toContain(',');
    expect(() => loadConfig({ REDIS_URL: cluster, QUEUE_PREFIX: 'conveyor' })).toThrow(/QUEUE_PREFIX: .*hash tag/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', API_KEYS: '' }).port).toBe(3000);
  });
});
