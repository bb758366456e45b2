import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';

/**
 * The PostgreSQL server the bench uses; its database name is ignored (the bench makes its own
 * databases, as test/support/database.ts does: one migrated template, cloned per phase).
 */
export const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The databases of one bench run: `conveyor_bench_<run>_template` and its clones. */
export class BenchDatabases {
  readonly runId = randomBytes(4).toString('hex');
  private readonly created: string[] = [];
  private template: string | undefined;

  private async createTemplate(): Promise<string> {
    const name = `conveyor_bench_${this.runId}_template`;
    await adminQuery(`create database ${name}`);
    this.created.push(name);
    await migrate(databaseUrl(name));
    return name;
  }

  /** A fresh migrated database for one phase; returns its URL. */
  async create(phase: string): Promise<string> {
    this.template ??= await this.createTemplate();
    const name = `conveyor_bench_${this.runId}_${phase}`;
    await adminQuery(`create database ${name} template ${this.template}`);
    this.created.push(name);
    return databaseUrl(name);
  }

  /**
   * PostgreSQL's deadlock count (`pg_stat_database.deadlocks`) of each phase's database, by
   * phase: every deadlock is a 1 s stall (`deadlock_timeout`) of the transactions in it. Read
   * after the phases' processes have stopped (a backend reports its counts when it exits).
   */
  async deadlocks(): Promise<Record<string, number>> {
    const prefix = `conveyor_bench_${this.runId}_`;
    const rows = await adminQuery<{ datname: string; deadlocks: string }>(
      'select datname, deadlocks from pg_stat_database where datname = any($1::text[]) order by datname',
      [this.created.filter((name) => name !== this.template)],
    );
    return Object.fromEntries(rows.map((row) => [row.datname.slice(prefix.length), Number(row.deadlocks)]));
  }

  async dropAll(): Promise<void> {
    for (const name of this.created.reverse()) {
      await adminQuery(`drop database if exists ${name} with (force)`).catch(() => undefined);
    }
    this.created.length = 0;
  }
}
