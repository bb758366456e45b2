import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createInfrastructure, warnUnlessNoEviction } from '../../src/main/infrastructure.js';
import { StartupError } from '../../src/main/lifecycle.js';
import { startCommandWorkerProcess } from '../../src/main/roles/command-worker.js';
import { startMailerProcess } from '../../src/main/roles/mailer.js';
import { startRelayProcess } from '../../src/main/roles/relay.js';
import { startWebProcess } from '../../src/main/roles/web.js';
import { startWebhooksProcess } from '../../src/main/roles/webhooks.js';
import type { RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { adminQuery, createTestDatabase, TEST_SERVER_URL } from '../support/database.js';
import { testConfig } from '../support/config.js';
import { ProcessGroup, stackEnv, startProcess } from '../support/processes.js';

function capture() {
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  return { logger, lines };
}

describe('start-up checks', () => {
  it('refuses to start a process on a database with pending migrations', async () => {
    const name = `conveyor_test_unmigrated_${Date.now()}`;
    await adminQuery(`create database ${name}`);
    try {
      const url = new URL(TEST_SERVER_URL);
      url.pathname = `/${name}`;
      const attempt = createInfrastructure(testConfig(url.toString()), 'web');
      await expect(attempt).rejects.toBeInstanceOf(StartupError);
      await expect(attempt).rejects.toThrow(/pending migration.*npm run db:migrate/);
    } finally {
      await adminQuery(`drop database if exists ${name} with (force)`);
    }
  });

  // Each role's own root checks too, with the ORM it opens or, without one, a borrowed connection.
  it.each([
    ['web', startWebProcess],
    ['worker', startCommandWorkerProcess],
    ['relay', startRelayProcess],
    ['mailer', startMailerProcess],
    ['webhooks', startWebhooksProcess],
  ])('refuses to start the %s process on a database with pending migrations', async (_, start) => {
    const name = `conveyor_test_unmigrated_${Date.now()}`;
    await adminQuery(`create database ${name}`);
    try {
      const url = new URL(TEST_SERVER_URL);
      url.pathname = `/${name}`;
      await expect(start(testConfig(url.toString(), { LOG_LEVEL: 'silent' }))).rejects.toThrow(StartupError);
    } finally {
      await adminQuery(`drop database if exists ${name} with (force)`);
    }
  });

  // Exactly-once needs a command's processed_commands row to outlive every job of it that can
  // still run (queues/retention.ts): a process refuses a shorter retention before it opens anything.
  it.each(['relay', 'worker'] as const)(
    'refuses to start the %s process with a processed-command retention shorter than a command job can live',
    async (role) => {
      const proc = startProcess(role, stackEnv(TEST_SERVER_URL, { RETENTION_PROCESSED_COMMANDS: '2d' }));
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toMatch(
        /conveyor cannot start: invalid configuration:\n {2}- RETENTION_PROCESSED_COMMANDS: 2d is shorter than 7d 1h 7m, .*RETENTION_COMMAND_JOBS_FAILED.* Set it to at least 7d 1h 7m\./,
      );
    },
  );

  it('warns loudly when Redis may evict queued jobs', async () => {
    const { logger, lines } = capture();
    const redis = { status: 'ready', call: () => Promise.resolve(['maxmemory-policy', 'allkeys-lru']) } as unknown as RedisConnection;
    await warnUnlessNoEviction(redis, logger);
    expect(lines.join('')).toMatch(/maxmemory-policy is \\"allkeys-lru\\", not \\"noeviction\\".*DROP QUEUED JOBS/);
  });

  it('stays quiet when Redis is set to noeviction', async () => {
    const { logger, lines } = capture();
    const redis = { status: 'ready', call: () => Promise.resolve(['maxmemory-policy', 'noeviction']) } as unknown as RedisConnection;
    await warnUnlessNoEviction(redis, logger);
    expect(lines).toEqual([]);
  });
});

// What docker-compose.yml used to run with NODE_ENV=production: the real web process refuses it
// before it opens anything, and says why. Starting a process through tsx takes seconds on a busy
// machine, hence the longer timeouts.
describe('a production web process', () => {
  const production = {
    NODE_ENV: 'production',
    SMTP_URL: 'smtp://127.0.0.1:2525',
    API_KEYS: 'k'.repeat(32),
    ADMIN_USER: 'ops',
    ADMIN_PASSWORD: 'p'.repeat(32),
    WEBHOOK_ALLOW_PRIVATE: 'false',
    WEBHOOK_SECRET_KEYS: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
  };
  const group = new ProcessGroup();
  let drop: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await group.stopAll();
    await drop?.();
  });

  it.each([
    [
      'the development key, admin/admin and webhooks to private addresses',
      { API_KEYS: 'dev-key', ADMIN_USER: 'admin', ADMIN_PASSWORD: 'admin', WEBHOOK_ALLOW_PRIVATE: 'true' },
      [
        /^ {2}- API_KEYS: entry #1 is the development key "dev-key", which is never accepted in production\./m,
        /^ {2}- ADMIN_PASSWORD: admin\/admin is the development login, which is never accepted in production\./m,
        /^ {2}- WEBHOOK_ALLOW_PRIVATE: true lets anyone .*WEBHOOK_ALLOW_PRIVATE_ACKNOWLEDGED=i-understand-ssrf\.$/m,
      ],
    ],
    [
      'a key and a password shorter than 32 characters',
      { API_KEYS: `${'k'.repeat(32)},${'s'.repeat(31)}`, ADMIN_PASSWORD: 'twenty-characters-pw' },
      [
        /^ {2}- API_KEYS: entry #2 \(31 characters\) is shorter than 32 characters\./m,
        /^ {2}- ADMIN_PASSWORD: 20 characters, shorter than 32\./m,
      ],
    ],
  ])('refuses %s: it exits 1 and prints each reason', async (_, defaults, reasons) => {
    const proc = startProcess('web', stackEnv(TEST_SERVER_URL, { ...production, ...defaults }));
    expect(await proc.exited).toBe(1);
    const output = proc.output();
    expect(output).toMatch(/^conveyor cannot start: invalid configuration:$/m);
    for (const reason of reasons) expect(output).toMatch(reason);
    expect(output.match(/^ {2}- /gm), output).toHaveLength(reasons.length);
    expect(output).not.toContain('s'.repeat(31));
  }, 60_000);

  it('starts with production secrets (no API_KEYS needed), and answers /health/ready', async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    // An empty variable counts as unset.
    const { baseUrl } = await group.startWeb(stackEnv(database.url, { ...production, API_KEYS: '' }));
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    // No development key is applied: the API refuses it.
    const answer = await fetch(`${baseUrl}/v1/commands`, { headers: { authorization: 'Bearer dev-key' } });
    expect(answer.status).toBe(401);
  }, 60_000);
});
