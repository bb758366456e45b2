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

  it.each([
    [undefined, 30 * 60_000],
    ['0', 0],
    ['2', 2_000],
    ['90s', 90_000],
    ['45m', 45 * 60_000],
    ['2h', 7_200_000],
  ])('reads ORDER_CONFIRMATION_TIMEOUT=%s as %i ms (seconds by default, 0 = off)', (value, ms) => {
    expect(loadConfig(value === undefined ? {} : { ORDER_CONFIRMATION_TIMEOUT: value }).orderConfirmationTimeoutMs).toBe(ms);
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
    [{ ORDER_CONFIRMATION_TIMEOUT: '30 minutes' }, 'ORDER_CONFIRMATION_TIMEOUT'],
    [{ ORDER_CONFIRMATION_TIMEOUT: '-5' }, 'ORDER_CONFIRMATION_TIMEOUT'],
    [{ ORDER_CONFIRMATION_TIMEOUT: '1.5h' }, 'ORDER_CONFIRMATION_TIMEOUT'],
    [{ ORDER_CONFIRMATION_TIMEOUT: '9000h' }, 'ORDER_CONFIRMATION_TIMEOUT'],
    [{ WEBHOOK_DISABLE_AFTER: '5' }, 'WEBHOOK_DISABLE_AFTER'],
    [{ WEBHOOK_DISABLE_AFTER: '5 days' }, 'WEBHOOK_DISABLE_AFTER'],
    [{ WEBHOOK_DISABLE_AFTER: '1.5d' }, 'WEBHOOK_DISABLE_AFTER'],
    [{ WEBHOOK_DISABLE_AFTER: '0s' }, 'WEBHOOK_DISABLE_AFTER'],
    [{ WEBHOOK_SECRET_OVERLAP: '1w' }, 'WEBHOOK_SECRET_OVERLAP'],
    [{ WEBHOOK_DELIVERY_RATE: '0' }, 'WEBHOOK_DELIVERY_RATE'],
    [{ WEBHOOK_DELIVERY_RATE: '-5' }, 'WEBHOOK_DELIVERY_RATE'],
    [{ WEBHOOK_DELIVERY_RATE: '1001' }, 'WEBHOOK_DELIVERY_RATE'],
    [{ WEBHOOK_DELIVERY_RATE: '100/s' }, 'WEBHOOK_DELIVERY_RATE'],
  ])('names the variable that is wrong: %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^invalid configuration:\\n  - ${name}: `));
  });

  it('takes several redis URLs as cluster seed nodes, with a hash-tagged prefix', () => {
    const cluster = 'redis://127.0.0.1:7001,redis://127.0.0.1:7002';
    expect(loadConfig({ REDIS_URL: cluster, QUEUE_PREFIX: '{conveyor}' }).redisUrl).toContain(',');
    expect(() => loadConfig({ REDIS_URL: cluster, QUEUE_PREFIX: 'conveyor' })).toThrow(/QUEUE_PREFIX: .*hash tag/);
  });

  it('reads webhook durations as a whole number and a unit, 5 days and 24 h by default', () => {
    expect(loadConfig({})).toMatchObject({ webhookDisableAfterMs: 5 * 86_400_000, webhookSecretOverlapMs: 86_400_000 });
    expect(loadConfig({ WEBHOOK_DISABLE_AFTER: '36h', WEBHOOK_SECRET_OVERLAP: '0s' })).toMatchObject({
      webhookDisableAfterMs: 36 * 3_600_000,
      webhookSecretOverlapMs: 0,
    });
    expect(loadConfig({ WEBHOOK_DISABLE_AFTER: '1500ms' }).webhookDisableAfterMs).toBe(1500);
    expect(loadConfig({ WEBHOOK_DISABLE_AFTER: '90s' }).webhookDisableAfterMs).toBe(90_000);
    expect(loadConfig({ WEBHOOK_DISABLE_AFTER: '30m' }).webhookDisableAfterMs).toBe(1_800_000);
  });

  it('reads WEBHOOK_DELIVERY_RATE as deliveries per second, 100 by default, from 0.01 to 1000', () => {
    expect(loadConfig({}).webhookDeliveryRate).toBe(100);
    expect(loadConfig({ WEBHOOK_DELIVERY_RATE: '2.5' }).webhookDeliveryRate).toBe(2.5);
    expect(loadConfig({ WEBHOOK_DELIVERY_RATE: '0.01' }).webhookDeliveryRate).toBe(0.01);
    expect(loadConfig({ WEBHOOK_DELIVERY_RATE: '1000' }).webhookDeliveryRate).toBe(1000);
    expect(() => loadConfig({ WEBHOOK_DELIVERY_RATE: '0' })).toThrow(/WEBHOOK_DELIVERY_RATE: must be at least 0.01 deliveries per second/);
    expect(() => loadConfig({ WEBHOOK_DELIVERY_RATE: 'fast' })).toThrow(/WEBHOOK_DELIVERY_RATE: must be a number of deliveries per second/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', API_KEYS: '' }).port).toBe(3000);
  });
});

describe('retention settings', () => {
  const DAY = 86_400_000;

  it('keeps rows for days by default, and finished jobs in Redis for a day or a week', () => {
    const { retention } = loadConfig({});
    expect(retention).toMatchObject({
      outboxMs: 30 * DAY,
      emailsMs: 30 * DAY,
      webhookDeliveriesMs: 30 * DAY,
      processedCommandsMs: 30 * DAY,
      intervalMs: 3600_000,
      batchSize: 1000,
    });
    expect(retention.jobs.commands).toEqual({ completedMs: DAY, failedMs: 7 * DAY });
    expect(retention.jobs.emails).toEqual({ completedMs: 3600_000, failedMs: 7 * DAY });
    expect(Object.keys(retention.jobs).sort()).toEqual(['commands', 'emails', 'maintenance', 'webhooks']);
  });

  it('reads durations in seconds, minutes, hours and days', () => {
    const { retention } = loadConfig({
      RETENTION_EMAILS: '90s',
      RETENTION_OUTBOX: '15m',
      RETENTION_WEBHOOK_DELIVERIES: '12h',
      RETENTION_PROCESSED_COMMANDS: '45d',
      RETENTION_WEBHOOK_JOBS_FAILED: '2d',
    });
    expect([retention.emailsMs, retention.outboxMs, retention.webhookDeliveriesMs, retention.processedCommandsMs]).toEqual([
      90_000,
      15 * 60_000,
      12 * 3600_000,
      45 * DAY,
    ]);
    expect(retention.jobs.webhooks.failedMs).toBe(2 * DAY);
  });

  it.each(['30', '30 days', '1.5d', '0s', '-1d', 'P30D'])('refuses the duration %j, naming the variable', (value) => {
    expect(() => loadConfig({ RETENTION_EMAILS: value })).toThrow(/RETENTION_EMAILS: must be a whole number and a unit: ms, s, m, h or d/);
  });

  it('refuses a processed-command retention shorter than a command job can live, saying why and what is enough', () => {
    // Failed command jobs stay 7 days in Redis and can be retried from there; retrying one
    // whose processed_commands row is gone would apply the command again.
    let error: unknown;
    try {
      loadConfig({ RETENTION_PROCESSED_COMMANDS: '7d' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const [problem] = (error as ConfigError).problems;
    expect(problem).toMatch(/^RETENTION_PROCESSED_COMMANDS: 7d is shorter than 7d 1h 7m/);
    expect(problem).toMatch(/RETENTION_COMMAND_JOBS_FAILED/);
    expect(problem).toMatch(/applies the command a second time/);
    expect(problem).toMatch(/Set it to at least 7d 1h 7m\.$/);
    expect(loadConfig({ RETENTION_PROCESSED_COMMANDS: '8d' }).retention.processedCommandsMs).toBe(8 * DAY);
  });

  it('moves the minimum with the Redis retention of command jobs, never below the 24 h ordering line', () => {
    expect(() => loadConfig({ RETENTION_COMMAND_JOBS_FAILED: '40d' })).toThrow(
      /RETENTION_PROCESSED_COMMANDS: 30d is shorter than 40d 1h 7m/,
    );
    const short = { RETENTION_COMMAND_JOBS_FAILED: '1h', RETENTION_COMMAND_JOBS_COMPLETED: '1h' };
    expect(() => loadConfig({ ...short, RETENTION_PROCESSED_COMMANDS: '1d' })).toThrow(
      /shorter than 1d 1h 7m, .*24 h per-aggregate ordering line/,
    );
    expect(loadConfig({ ...short, RETENTION_PROCESSED_COMMANDS: '2d' }).retention.jobs.commands).toEqual({
      completedMs: 3600_000,
      failedMs: 3600_000,
    });
  });
});
