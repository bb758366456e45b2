import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { createOrm, type MikroORM } from '../../src/infrastructure/persistence/mikro-orm.js';
import { closingPool, createTestDatabase } from './database.js';

export interface OrmFixture {
  orm: MikroORM;
  url: string;
  /** A plain pg pool on the database, as the relay and the delivery workers use (it connects only once used). */
  pool: pg.Pool;
  /** Runs one SQL statement on a fresh fork of the ORM's connection; answers with its rows. */
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A MikroORM instance on a fresh database of its own. */
export async function ormOnFreshDatabase(poolSize = 10): Promise<OrmFixture> {
  const db = await createTestDatabase();
  const orm = await createOrm({ databaseUrl: db.url, poolSize });
  // close() waits for the pool's connections to close before the database is dropped.
  const { pool, end } = closingPool({ connectionString: db.url });
  return {
    orm,
    url: db.url,
    pool,
    sql: <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
      orm.em.fork().getConnection().execute<T[]>(query, params),
    close: async () => {
      // The database is dropped however the closing went: a test leaves nothing behind.
      try {
        await end();
        await orm.close(true);
      } finally {
        await db.drop();
      }
    },
  };
}

export const newId = (): string => uuidv7();
