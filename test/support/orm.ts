import { v7 as uuidv7 } from 'uuid';
import { createOrm, type MikroORM } from '../../src/infrastructure/persistence/mikro-orm.js';
import { createTestDatabase } from './database.js';

export interface OrmFixture {
  orm: MikroORM;
  url: string;
  close(): Promise<void>;
}

/** A MikroORM instance on a fresh database of its own. */
export async function ormOnFreshDatabase(poolSize = 10): Promise<OrmFixture> {
  const db = await createTestDatabase();
  const orm = await createOrm({ databaseUrl: db.url, poolSize });
  return {
    orm,
    url: db.url,
    close: async () => {
      await orm.close(true);
      await db.drop();
    },
  };
}

export const newId = (): string => uuidv7();
