import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/infrastructure/config.js';

/** A WEBHOOK_SECRET_KEYS key as an operator makes one (openssl rand -base64 32). */
const PRODUCTION_KEY = randomBytes(32);
/** Secrets of the length production asks for (32 characters and more). */
const KEY_A = 'a'.repeat(40);
const KEY_B = 'b'.repeat(32);
const ADMIN_PASSWORD = 'p'.repeat(32);
/** A production configuration that starts: every problem a test adds is its own. */
const PRODUCTION = {
  NODE_ENV: 'production',
  ADMIN_USER: 'ops',
  ADMIN_PASSWORD,
  SMTP_URL: 'smtp://mail:25',
  WEBHOOK_SECRET_KEYS: `k1:${PRODUCTION_KEY.toString('base64')}`,
} as const;

/** The problems `loadConfig` refuses `env` with (fails the test when it accepts it). */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies local defaults in development and says which', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/conveyor');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.port).toBe(3000);
    expect(config.apiKeys).toEqual(['dev-key']);
    expect(config.webhookRetrySchedule).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect([config.commandGroupMax, config.commandGroupTransactions]).toEqual([32, 2]);
    expect(config.commandPipelining).toBe(true);
    expect(loadConfig({ COMMAND_PIPELINING: 'false' }).commandPipelining).toBe(false);
    expect(config.relayFirstAttempt).toBe(false);
    expect(loadConfig({ RELAY_FIRST_ATTEMPT: 'true' }).relayFirstAttempt).toBe(true);
    expect(loadConfig({ RELAY_FIRST_ATTEMPT: '1' }).relayFirstAttempt).toBe(true);
    expect(problemsOf({ RELAY_FIRST_ATTEMPT: 'yes' }).join(' ')).toMatch(/RELAY_FIRST_ATTEMPT/);
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
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^ADMIN_USER and ADMIN_PASSWORD: required in production .*at least 32 characters/);
    expect(problems.join('\n')).toMatch(/SMTP_URL: required in production/);
    expect(problems.join('\n')).toMatch(/WEBHOOK_SECRET_KEYS: required in production/);
  });

  describe('WEBHOOK_SECRET_KEYS', () => {
    const production = { ...PRODUCTION };
    const problemsText = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems.join('\n');
        throw error;
      }
      return '';
    };

    it('falls back to a development key outside production, and says so', () => {
      const config = loadConfig({ NODE_ENV: 'test' });
      expect(config.webhookSecretKeys).toEqual([{ id: 'dev', key: expect.any(Buffer) }]);
      expect(config.webhookSecretKeys[0]?.key.length).toBe(32);
      expect(config.defaultsApplied).toContain('WEBHOOK_SECRET_KEYS=<development key "dev">');
    });

    it('keeps every key, the first one encrypting', () => {
      const other = randomBytes(32);
      const config = loadConfig({ WEBHOOK_SECRET_KEYS: `new:${other.toString('base64')},old:${PRODUCTION_KEY.toString('base64')}` });
      expect(config.webhookSecretKeys.map((key) => key.id)).toEqual(['new', 'old']);
      expect(config.defaultsApplied.some((line) => line.startsWith('WEBHOOK_SECRET_KEYS'))).toBe(false);
    });

    it.each([
      ['a key that is not 32 bytes', `k1:${randomBytes(24).toString('base64')}`, /WEBHOOK_SECRET_KEYS: key "k1" must be base64 of exactly 32 random bytes/],
      ['no key id', PRODUCTION_KEY.toString('base64'), /WEBHOOK_SECRET_KEYS: entry 1 must be <key id>:<base64 key>/],
      ['the development key', 'dev:9tT/AoY5acwz6ENQLnfQMWrsvKy9KZpz5vC5zpWpTeE=', /WEBHOOK_SECRET_KEYS: the development key cannot be used in production/],
    ])('stops production on %s, with the reason', (_case, value, reason) => {
      expect(problemsText({ ...production, WEBHOOK_SECRET_KEYS: value })).toMatch(reason);
    });

    it('refuses a malformed key in development too', () => {
      expect(problemsText({ WEBHOOK_SECRET_KEYS: 'k1:short' })).toMatch(/WEBHOOK_SECRET_KEYS: key "k1" .* got \d+ bytes/);
    });
  });

  it('accepts a complete production configuration without defaults', () => {
    const config = loadConfig({ ...PRODUCTION, API_KEYS: `${KEY_A}, ${KEY_B}`, WEBHOOK_ALLOW_PRIVATE: 'false' });
    expect(config.apiKeys).toEqual([KEY_A, KEY_B]);
    expect(config.webhookSecretKeys).toEqual([{ id: 'k1', key: PRODUCTION_KEY }]);
    expect(config.defaultsApplied).toEqual([]);
    expect(config.webhookAllowPrivate).toBe(false);
  });

  it('needs no API_KEYS in production, and applies no development key there', () => {
    const config = loadConfig(PRODUCTION);
    expect(config.apiKeys).toEqual([]);
    expect(config.defaultsApplied).toEqual([]);
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
    [{ RATE_LIMIT_PER_MINUTE: '0' }, 'RATE_LIMIT_PER_MINUTE'],
    [{ RATE_LIMIT_PER_MINUTE: '100/s' }, 'RATE_LIMIT_PER_MINUTE'],
    [{ MAX_QUEUED_COMMANDS: '-1' }, 'MAX_QUEUED_COMMANDS'],
    [{ MAX_QUEUED_COMMANDS: '1e5x' }, 'MAX_QUEUED_COMMANDS'],
    [{ ADMIN_LOGIN_MAX_FAILURES: '0' }, 'ADMIN_LOGIN_MAX_FAILURES'],
    [{ ADMIN_LOGIN_MAX_FAILURES: 'ten' }, 'ADMIN_LOGIN_MAX_FAILURES'],
    [{ ADMIN_LOGIN_WINDOW: '15' }, 'ADMIN_LOGIN_WINDOW'],
    [{ ADMIN_LOGIN_WINDOW: '500ms' }, 'ADMIN_LOGIN_WINDOW'],
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

  it('limits each key to 6000 requests a minute and the queue to 100000 commands by default; 0 lifts the queue ceiling', () => {
    expect(loadConfig({})).toMatchObject({ rateLimitPerMinute: 6000, maxQueuedCommands: 100_000 });
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '120', MAX_QUEUED_COMMANDS: '0' })).toMatchObject({
      rateLimitPerMinute: 120,
      maxQueuedCommands: 0,
    });
  });

  it('throttles Bull Board logins after 10 failures in 15 minutes by default', () => {
    expect(loadConfig({}).adminLoginThrottle).toEqual({ maxFailures: 10, windowMs: 15 * 60_000 });
    expect(loadConfig({ ADMIN_LOGIN_MAX_FAILURES: '5', ADMIN_LOGIN_WINDOW: '1h' }).adminLoginThrottle).toEqual({
      maxFailures: 5,
      windowMs: 3_600_000,
    });
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

describe('production refuses development defaults', () => {
  it.each([
    [
      'the development API key',
      { API_KEYS: `${KEY_A},dev-key` },
      /^API_KEYS: entry #2 is the development key "dev-key", which is never accepted in production\. Remove it; generate one with `openssl rand -hex 32`\.$/,
    ],
    [
      'an API key shorter than 32 characters',
      { API_KEYS: `${KEY_A},${'k'.repeat(31)},short` },
      /^API_KEYS: entry #2 \(31 characters\), #3 \(5 characters\) is shorter than 32 characters\. .*openssl rand -hex 32.*keys CLI/,
    ],
    [
      'the admin/admin login',
      { ADMIN_USER: 'admin', ADMIN_PASSWORD: 'admin' },
      /^ADMIN_PASSWORD: admin\/admin is the development login, which is never accepted in production\. Set a password of at least 32 characters/,
    ],
    [
      'the development admin password with another user',
      { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'admin' },
      /^ADMIN_PASSWORD: "admin" is the development password, which is never accepted in production\./,
    ],
    [
      'an admin password shorter than 32 characters',
      { ADMIN_PASSWORD: 'correct-horse-battery-staple' },
      /^ADMIN_PASSWORD: 28 characters, shorter than 32\. Set a longer one \(generate one with `openssl rand -hex 32`\)\.$/,
    ],
    [
      'an admin user without a password',
      { ADMIN_PASSWORD: undefined },
      /^ADMIN_USER and ADMIN_PASSWORD: required in production/,
    ],
    [
      'webhooks to private addresses',
      { WEBHOOK_ALLOW_PRIVATE: 'true' },
      /^WEBHOOK_ALLOW_PRIVATE: true lets anyone .*\(SSRF\)\. .*also set WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED=i-understand-ssrf\.$/,
    ],
  ])('refuses %s, saying why and what to do', (_, env, reason) => {
    const problems = problemsOf({ ...PRODUCTION, ...env });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(reason);
  });

  it('names every problem at once, and repeats no secret', () => {
    const short = 'sh0rt-but-secret';
    const problems = problemsOf({ NODE_ENV: 'production', API_KEYS: `dev-key,${short}`, ADMIN_USER: 'admin', ADMIN_PASSWORD: 'admin', WEBHOOK_ALLOW_PRIVATE: '1' });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual([
      'API_KEYS',
      'API_KEYS',
      'ADMIN_PASSWORD',
      'WEBHOOK_ALLOW_PRIVATE',
      'SMTP_URL',
      'WEBHOOK_SECRET_KEYS',
    ]);
    expect(problems.join('\n')).not.toContain(short);
  });

  it('delivers to private addresses in production only with the exact acknowledgement', () => {
    const acknowledged = { ...PRODUCTION, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED: 'i-understand-ssrf' };
    expect(loadConfig(acknowledged).webhookAllowPrivate).toBe(true);
    expect(() => loadConfig({ ...acknowledged, WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED: 'yes' })).toThrow(
      /^invalid configuration:\n {2}- WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED: must be exactly i-understand-ssrf \(or unset\)$/,
    );
  });

  it('keeps the development defaults outside production', () => {
    for (const nodeEnv of ['development', 'test']) {
      const config = loadConfig({ NODE_ENV: nodeEnv, WEBHOOK_ALLOW_PRIVATE: 'true' });
      expect(config.apiKeys).toEqual(['dev-key']);
      expect(config.admin).toEqual({ user: 'admin', password: 'admin' });
      expect(config.webhookAllowPrivate).toBe(true);
      expect(loadConfig({ NODE_ENV: nodeEnv, API_KEYS: 'short', ADMIN_PASSWORD: 'pw' }).apiKeys).toEqual(['short']);
    }
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

  it('trusts no proxy unless TRUST_PROXY names one: true, hops, or addresses and ranges', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.1,loopback, fd00::/8' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '192.0.2.1',
      'loopback',
      'fd00::/8',
    ]);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33,proxy.internal' })).toThrow(
      /TRUST_PROXY: "10\.0\.0\.0\/33", "proxy\.internal": not an IP address or CIDR range/,
    );
  });

  it('keeps commands that gave up for 30 days, or as long as RETENTION_GAVE_UP_COMMANDS says', () => {
    const { retention } = loadConfig({});
    expect([retention.gaveUpCommandsMs, retention.scheduleRunsMs]).toEqual([30 * DAY, 30 * DAY]);
    expect(loadConfig({ RETENTION_GAVE_UP_COMMANDS: '7d', RETENTION_SCHEDULE_RUNS: '2h' }).retention).toMatchObject({
      gaveUpCommandsMs: 7 * DAY,
      scheduleRunsMs: 2 * 3600_000,
    });
    // Shorter than failed command jobs stay in Redis (7d): the sweeper copies none that old back.
    expect(loadConfig({ RETENTION_GAVE_UP_COMMANDS: '1d' }).retention.gaveUpCommandsMs).toBe(DAY);
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
