import { v7 as uuidv7 } from 'uuid';
import { createOrm, type MikroORM } from '../../src/infrastructure/persistence/mikro-orm.js';
import { createTestDatabase } from './database.js';

export interface OrmFixture {
  orm: MikroORM;
  url: string;
  /** Runs one SQL statement on a fresh fork of the ORM's connection; answers with its rows. */
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A MikroORM instance on a fresh database of its own. */
export async function ormOnFreshDatabase(poolSize = 10): Promise<OrmFixture> {
  const db = await createTestDatabase();
  const orm = await createOrm({ databaseUrl: db.url, poolSize });
  return {
    orm,
    url: db.url,
    sql: <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
      orm.em.fork().getConnection().execute<T[]>(query, params),
    close: async () => {
      await orm.close(true);
      await db.drop();
    },
  };
}

export const newId = (): string => uuidv7();
