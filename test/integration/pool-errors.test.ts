import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/infrastructure/logger.js';
import { Resources, openPool } from '../../src/main/infrastructure.js';
import type { Config } from '../../src/infrastructure/config.js';
import { closingPool, migratedDatabase } from '../support/database.js';
import { within } from '../support/wait.js';

// A connection the server ends while the code holds it (PostgreSQL stopped or restarted, the
// backend terminated): pg emits 'error' on the client, which pg-pool only listens for while the
// client is idle. Without a listener of its own the event ends the process — the relay died
// this way in the stopped-PostgreSQL fault test.

let db: { url: string; drop: () => Promise<void> };
const admin: { pool?: pg.Pool; end?: () => Promise<void> } = {};

beforeAll(async () => {
  db = await migratedDatabase();
  Object.assign(admin, closingPool({ connectionString: db.url, max: 1 }));
});

afterAll(async () => {
  await admin.end?.();
  await db.drop();
});

/** openPool with a logger whose warnings are collected. */
function openWatchedPool() {
  const resources = new Resources();
  const warnings: string[] = [];
  const logger = createLogger({ level: 'warn', role: 'test' });
  logger.warn = ((object: unknown, message?: string) => void warnings.push(message ?? String(object)));
  const pool = openPool({ databaseUrl: db.url, workerConcurrency: 1 } as Config, logger, resources, { role: 'test' });
  return { pool, warnings, resources };
}

describe('openPool', () => {
  test('a checked-out connection the server terminates is reported, not fatal, and the pool goes on', async () => {
    const { pool, warnings, resources } = openWatchedPool();
    try {
      const client = await pool.connect();
      const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await admin.pool!.query('select pg_terminate_backend($1)', [pid]);
      // The termination reaches the held client as an 'error' event; the test process is still here.
      await within('the failure to be reported', 5000, async () => warnings.includes('PostgreSQL connection in use failed'));
      await expect(client.query('select 1')).rejects.toThrow();
      client.release();
      expect((await pool.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await resources.close();
    }
  });

  test('an idle connection the server terminates is reported once, as idle', async () => {
    const { pool, warnings, resources } = openWatchedPool();
    try {
      // Checked out and back: the connection now waits idle in the pool.
      const pid = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await admin.pool!.query('select pg_terminate_backend($1)', [pid]);
      await within('the failure to be reported', 5000, async () => warnings.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(warnings).toEqual(['idle PostgreSQL connection failed']);
      expect((await pool.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await resources.close();
    }
  });
});
