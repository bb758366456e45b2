import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { parse as parseConnectionString } from 'pg-connection-string';
import { entities } from './schemas.js';
import { migrationsList } from './migrations/index.js';
import { PipeliningClient } from './pipelined-statements.js';
import { ConveyorPostgreSqlDriver } from './driver.js';

export interface OrmOptions {
  databaseUrl: string;
  /** Connection pool size; a worker needs about its concurrency. */
  poolSize?: number;
  debug?: boolean;
  /**
   * What pg_stat_activity shows for its connections (`conveyor-<role>`) unless DATABASE_URL
   * (`?application_name=`) or PGAPPNAME names them; default `conveyor`.
   */
  applicationName?: string;
}

export function ormConfig(options: OrmOptions): Options {
  return {
    clientUrl: options.databaseUrl,
    // MikroORM's PostgreSQL driver with a plain statement for the flush's update by primary key.
    driver: ConveyorPostgreSqlDriver,
    entities,
    extensions: [Migrator],
    // Entities are mapped with EntitySchema: nothing to reflect, no decorators.
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: options.poolSize ?? 10 },
    // A plain pg client unless the unit of work pipelines its statements (ADR 0016), with what
    // the URL says beyond the server and the database.
    driverOptions: {
      Client: PipeliningClient,
      fallback_application_name: options.applicationName ?? 'conveyor',
      ...connectionParameters(options.databaseUrl),
    },
    // One UPDATE per changed entity rather than one batched UPDATE per type: MikroORM ends a
    // batched update with `returning <primary key>` (to map generated columns back), so it could
    // not be held and cost a round trip of its own — on every order of two or more lines, its
    // stock update. A plain update has no RETURNING, is held, and travels with the next
    // statement (ADR 0016). PostgreSQL gets one short statement per row instead of one CASE.
    useBatchUpdates: false,
    debug: options.debug ?? false,
    // Every unit of work forks its own EntityManager; the global one must never be used.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    migrations: {
      tableName: 'mikro_orm_migrations',
      // The list is compiled in, so the same code runs under tsx and from dist/.
      migrationsList,
      path: 'src/infrastructure/persistence/migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      fileName: (timestamp: string, name?: string) => `Migration${timestamp}${name ? `-${name}` : ''}`,
    },
  };
}

/**
 * What DATABASE_URL says that MikroORM would not pass on, as pg's own parser reads it (`sslmode`
 * and the TLS settings, `application_name`, `options`, timeouts): MikroORM takes only the
 * host, port, user, password and database of its `clientUrl`'s authority and path, so without
 * these the ORM's connections would not use the TLS or the settings the plain pg pools of the
 * same process use. A server or credentials given as query parameters (`?host=/cloudsql/…`
 * for a Unix socket, `?user=`, `?password=`) are passed on too, where they differ from what
 * MikroORM read. The database stays MikroORM's: `ensureDatabase` connects elsewhere first.
 */
export function connectionParameters(databaseUrl: string): Record<string, unknown> {
  const { database: _database, ...parsed } = parseConnectionString(databaseUrl);
  const url = new URL(databaseUrl);
  // What MikroORM took from the URL (Connection.getConnectionOptions), as pg would compare it.
  const mikroOrm: Record<string, string> = {
    host: decodeURIComponent(url.hostname),
    port: url.port,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
  const sameAsMikroOrm = (key: string, value: unknown) =>
    key in mikroOrm && (typeof value === 'string' || typeof value === 'number') && `${value}` === mikroOrm[key];
  return Object.fromEntries(
    Object.entries(parsed).filter(([key, value]) => value !== undefined && value !== null && !sameAsMikroOrm(key, value)),
  );
}

export function createOrm(options: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormConfig(options));
}

/**
 * Creates the database if it does not exist, then applies pending migrations.
 * Returns the names of the migrations applied.
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  // MikroORM connects lazily: ensureDatabase creates the database before the first query.
  const orm = await MikroORM.init(ormConfig({ databaseUrl, poolSize: 2 }));
  try {
    await orm.schema.ensureDatabase({ create: false });
    const applied = await orm.migrator.up();
    return applied.map((migration) => migration.name);
  } finally {
    await orm.close(true);
  }
}

export { MikroORM };
