// The test harness drops each file's database with `drop database … with (force)` once its pool
// has ended. pg's `pool.end()` resolves before the connections have closed, so the drop could
// terminate one still closing, and the pool's unheard 57P01 error failed a CI run as an uncaught
// exception. The harness's pools wait for their connections instead (closingPool).
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { closingPool, createTestDatabase } from '../support/database.js';

describe('a test pool ended before its database is dropped', () => {
  it('has closed every connection when its end() resolves', async () => {
    const db = await createTestDatabase();
    try {
      const { pool, end } = closingPool({ connectionString: db.url, max: 3 });
      const opened = new Set<pg.PoolClient>();
      const closed = new Set<pg.PoolClient>();
      pool.on('connect', (client) => {
        opened.add(client);
        client.once('end', () => closed.add(client));
      });
      await Promise.all([1, 2, 3].map(() => pool.query('select pg_sleep(0.05)')));
      expect(opened.size).toBe(3);

      await end();
      expect(closed).toEqual(opened);
    } finally {
      await db.drop();
    }
  });
});
