import { afterAll, beforeAll } from 'vitest';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { ormOnFreshDatabase, type OrmFixture } from './orm.js';

export interface UnitOfWorkFixture {
  /** A MikroORM unit of work on the file's database. */
  uow: MikroOrmUnitOfWork;
  /** Runs one SQL statement on the file's database. */
  sql: OrmFixture['sql'];
  /** The ORM under `uow`, for a unit of work with options of its own. */
  orm: OrmFixture['orm'];
}

/** For a whole test file: a fresh database and a unit of work on it before all tests; closed and dropped after all. */
export function unitOfWorkOnFreshDatabase(poolSize = 20): UnitOfWorkFixture {
  const fixture = {} as UnitOfWorkFixture;
  let db: OrmFixture | undefined;
  beforeAll(async () => {
    db = await ormOnFreshDatabase(poolSize);
    fixture.uow = new MikroOrmUnitOfWork(db.orm);
    fixture.sql = db.sql;
    fixture.orm = db.orm;
  });
  afterAll(() => db?.close());
  return fixture;
}
