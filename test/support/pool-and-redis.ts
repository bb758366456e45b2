import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createRedisConnection, type RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { REDIS_URL } from './config.js';
import { closingPool, createTestDatabase } from './database.js';

export interface PoolAndRedis {
  /** A pg pool on a fresh migrated database of the file's own. */
  pool: pg.Pool;
  /** A Redis connection for the file's queues (give each test its own `uniquePrefix`). */
  connection: RedisConnection;
}

/**
 * For the tests of a file that talk to PostgreSQL and Redis without the processes: opens both
 * before the file's tests (the object is filled in then), and closes the pool and the
 * connection and drops the database after them.
 */
export function poolAndRedis(poolSize = 10): PoolAndRedis {
  const fixture = {} as PoolAndRedis;
  let drop: (() => Promise<void>) | undefined;
  let endPool: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    // Its connections close before the database is dropped (closingPool).
    ({ pool: fixture.pool, end: endPool } = closingPool({ connectionString: db.url, max: poolSize }));
    fixture.connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
  });
  afterAll(async () => {
    await endPool?.();
    await fixture.connection?.quit();
    await drop?.();
  });
  return fixture;
}
