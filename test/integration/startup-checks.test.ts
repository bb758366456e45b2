import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createInfrastructure, warnUnlessNoEviction } from '../../src/main/infrastructure.js';
import { StartupError } from '../../src/main/lifecycle.js';
import { startCommandWorkerProcess } from '../../src/main/roles/command-worker.js';
import { startMailerProcess } from '../../src/main/roles/mailer.js';
import { startRelayProcess } from '../../src/main/roles/relay.js';
import { startWebProcess } from '../../src/main/roles/web.js';
import { startWebhooksProcess } from '../../src/main/roles/webhooks.js';
import type { RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { adminQuery, TEST_SERVER_URL } from '../support/database.js';
import { testConfig } from '../support/config.js';
import { stackEnv, startProcess } from '../support/processes.js';

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
