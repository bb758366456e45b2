// DATABASE_URL's parameters reach the ORM's connections as they reach the plain pg pools: MikroORM
// alone keeps only the server, the credentials and the database of its clientUrl, which would
// leave the worker's unit of work without the URL's `sslmode` (TLS), `application_name` or
// `options`. The local server has no TLS, so the test holds the settings it can read back.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectionParameters, createOrm, migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import pino from 'pino';
import { openOrm, openPool, Resources } from '../../src/main/infrastructure.js';
import { createReadPool } from '../../src/infrastructure/read/pg-read-model.js';
import { testConfig } from '../support/config.js';
import { adminQuery, createTestDatabase, withDatabase } from '../support/database.js';

const PARAMETERS = { application_name: 'conveyor-url-test', options: '-c statement_timeout=4321' };

/** `url` with `parameters` added to its query (TEST_DATABASE_URL may have one already). */
function withParameters(url: string, parameters: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(parameters)) parsed.searchParams.set(key, value);
  return parsed.toString();
}

describe("a role's connections", () => {
  it('are named conveyor-<role> in pg_stat_activity, the ORM\'s and the plain pool\'s, unless DATABASE_URL names them', async () => {
    const db = await createTestDatabase();
    await migrate(db.url);
    const resources = new Resources();
    const logger = pino({ level: 'silent' });
    try {
      const orm = await openOrm(testConfig(db.url), 'worker', resources);
      const pool = openPool(testConfig(db.url), logger, resources, { role: 'relay' });
      const named = openPool(testConfig(withParameters(db.url, PARAMETERS)), logger, resources, { role: 'relay' });
      const app = 'select application_name as app from pg_stat_activity where pid = pg_backend_pid()';
      expect(await orm.orm.em.fork().getConnection().execute(app)).toEqual([{ app: 'conveyor-worker' }]);
      expect((await pool.query(app)).rows).toEqual([{ app: 'conveyor-relay' }]);
      expect((await named.query(app)).rows).toEqual([{ app: 'conveyor-url-test' }]);
    } finally {
      await resources.close();
      await db.drop();
    }
  });

  it("are named by PGAPPNAME when it is set, the web's read pool's too", async () => {
    const db = await createTestDatabase();
    const resources = new Resources();
    const logger = pino({ level: 'silent' });
    const app = 'select application_name as app from pg_stat_activity where pid = pg_backend_pid()';
    const read = createReadPool(db.url, 1);
    const before = process.env.PGAPPNAME;
    try {
      expect((await read.query(app)).rows).toEqual([{ app: 'conveyor-read' }]);
      process.env.PGAPPNAME = 'ops-dashboard';
      // pg reads the environment as it opens a connection: new pools, opened now.
      const readNamed = createReadPool(db.url, 1);
      try {
        const pool = openPool(testConfig(db.url), logger, resources, { role: 'relay' });
        expect((await readNamed.query(app)).rows).toEqual([{ app: 'ops-dashboard' }]);
        expect((await pool.query(app)).rows).toEqual([{ app: 'ops-dashboard' }]);
      } finally {
        await readNamed.end();
      }
    } finally {
      if (before === undefined) delete process.env.PGAPPNAME;
      else process.env.PGAPPNAME = before;
      await read.end();
      await resources.close();
      await db.drop();
    }
  });
});

describe('DATABASE_URL parameters', () => {
  it('reach every connection of the ORM', async () => {
    const db = await createTestDatabase();
    const orm = await createOrm({ databaseUrl: withParameters(db.url, PARAMETERS), poolSize: 2 });
    try {
      const settings = () =>
        orm.em
          .fork()
          .getConnection()
          .execute<{ app: string; timeout: string }[]>(
            "select current_setting('application_name') as app, current_setting('statement_timeout') as timeout",
          );
      // Two at once: two connections of the pool, each opened with the URL's settings.
      const both = await Promise.all([settings(), settings()]);
      expect(both.flat()).toEqual([
        { app: 'conveyor-url-test', timeout: '4321ms' },
        { app: 'conveyor-url-test', timeout: '4321ms' },
      ]);
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });

  it('do not change which database the migrations create and migrate', async () => {
    const name = `conveyor_test_url_${randomBytes(6).toString('hex')}`;
    try {
      const applied = await migrate(withParameters(withDatabase(name), PARAMETERS));
      expect(applied.length).toBeGreaterThan(0);
      const orm = await createOrm({ databaseUrl: withDatabase(name), poolSize: 1 });
      try {
        const [row] = await orm.em.fork().getConnection().execute<{ db: string }[]>('select current_database() as db');
        expect(row?.db).toBe(name);
      } finally {
        await orm.close(true);
      }
    } finally {
      await adminQuery(`drop database if exists ${name} with (force)`);
    }
  });

  it('take the credentials from query parameters when the URL gives them there', async () => {
    // MikroORM reads the user and password of the URL's authority only; pg reads them from the
    // query too. A role of its own shows which one the ORM's connections logged in as.
    const role = `conveyor_url_${randomBytes(6).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const db = await createTestDatabase();
    await adminQuery(`create role ${role} login password '${password}'`);
    const url = new URL(db.url);
    url.username = '';
    url.password = '';
    const orm = await createOrm({ databaseUrl: withParameters(url.toString(), { user: role, password }), poolSize: 1 });
    try {
      const [row] = await orm.em.fork().getConnection().execute<{ who: string; db: string }[]>('select current_user as who, current_database() as db');
      expect(row).toEqual({ who: role, db: new URL(db.url).pathname.slice(1) });
    } finally {
      await orm.close(true);
      await db.drop();
      await adminQuery(`drop role if exists ${role}`);
    }
  });

  it('a URL without parameters adds nothing to the connection settings', () => {
    expect(connectionParameters('postgres://postgres@127.0.0.1:5432/conveyor')).toEqual({});
    expect(connectionParameters('postgres://u:p@db.example:6543/shop?sslmode=no-verify&application_name=shop')).toMatchObject({
      application_name: 'shop',
      ssl: { rejectUnauthorized: false },
    });
    // A Unix socket named in the query, as managed PostgreSQL services document it.
    expect(connectionParameters('postgres://shop:secret@localhost/shop?host=/cloudsql/project:region:instance')).toEqual({
      host: '/cloudsql/project:region:instance',
    });
  });
});
