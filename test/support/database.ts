import pg from 'pg';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated template database of this test run (made by global-setup.ts). */
    templateDatabase: string;
  }
}

/** Server the tests use; override with TEST_DATABASE_URL (a database name in it is ignored). */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function withDatabase(name: string): string {
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase('postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, migrated database for one test file, cloned from the template. Returns its URL and
 * a function that drops it.
 */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `conveyor_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name} template ${inject('templateDatabase')}`);
  return {
    url: withDatabase(name),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

/**
 * A new database on the shared test server, migrated here rather than cloned from the
 * template: for tests that run without the global setup's template.
 */
export async function migratedDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `conveyor_fault_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  await migrate(withDatabase(name));
  return { url: withDatabase(name), drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

/**
 * A pg pool whose `end()` waits until its connections have closed. pg's `pool.end()` resolves
 * before they have, so a `drop database … with (force)` right after it can terminate one that is
 * still closing, and the pool emits that "terminating connection due to administrator command"
 * (57P01) as an error nobody listens for: an uncaught exception that fails the run.
 */
export function closingPool(config: pg.PoolConfig): { pool: pg.Pool; end(): Promise<void> } {
  const pool = new pg.Pool(config);
  const connections = new Set<pg.PoolClient>();
  pool.on('connect', (client) => {
    connections.add(client);
    client.once('end', () => connections.delete(client));
  });
  return {
    pool,
    end: async () => {
      const closing = [...connections].map((client) => once(client, 'end').catch(() => undefined));
      await pool.end();
      await Promise.all(closing);
    },
  };
}
