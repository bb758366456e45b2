import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { StartupError, createInfrastructure, warnUnlessNoEviction } from '../../src/main/infrastructure.js';
import type { RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { adminQuery, TEST_SERVER_URL } from '../support/database.js';
import { testConfig } from '../support/config.js';

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

  it('warns loudly when Redis may evict queued jobs', async () => {
    const { logger, lines } = capture();
    const redis = { call: () => Promise.resolve(['maxmemory-policy', 'allkeys-lru']) } as unknown as RedisConnection;
    await warnUnlessNoEviction(redis, logger);
    expect(lines.join('')).toMatch(/maxmemory-policy is \\"allkeys-lru\\", not \\"noeviction\\".*DROP QUEUED JOBS/);
  });

  it('stays quiet when Redis is set to noeviction', async () => {
    const { logger, lines } = capture();
    const redis = { call: () => Promise.resolve(['maxmemory-policy', 'noeviction']) } as unknown as RedisConnection;
    await warnUnlessNoEviction(redis, logger);
    expect(lines).toEqual([]);
  });
});
