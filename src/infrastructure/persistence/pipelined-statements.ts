import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

/**
 * Pipelined statements for the unit of work (docs/adr/0016-pipelined-statements.md).
 *
 * Inside `withPipelinedStatements`, a transaction's BEGIN, its INSERT/UPDATE/DELETE statements
 * without RETURNING (MikroORM's flush) and statements that start with `HELD` (the outbox
 * bookkeeping) — statements whose answer nobody reads — are held: they resolve at once (with
 * no row count, which Kysely and MikroORM read as 0) and go to PostgreSQL in front of the
 * transaction's next statement, as one
 * multi-statement simple query (MikroORM inlines the values, so a statement is plain text).
 * PostgreSQL runs them in order, in the same transaction, and stops at the first error, so what
 * commits is exactly what would have committed statement by statement. Only the moment an
 * error is reported moves, from the write to the next statement of the same transaction (at
 * the latest its COMMIT), where the unit of work meets it as before: the group rolls back, or
 * the command's unique violation becomes its domain error.
 *
 * Why: every round trip costs a socket write and the backend's wake-up, the largest CPU cost
 * of the worker (docs/benchmarks.md). A PlaceOrder took 4 round trips of its own plus a share
 * of its group's 4; now it takes 1 (its two reads, sent together by the repositories with
 * `RESULTS`) plus a share of 2.
 *
 * Never held: a statement with RETURNING or of several parts, anything with bound values, a
 * callback or a cursor, and anything outside `withPipelinedStatements` or outside a
 * transaction. The unit of work's entities have no version or concurrency-check columns, the
 * only readers of a flush's row count.
 */
const scope = new AsyncLocalStorage<true>();

/** Runs `work` with pipelined statements for the transactions it opens. */
export function withPipelinedStatements<T>(work: () => Promise<T>): Promise<T> {
  return scope.run(true, work);
}

/** Marks a statement whose answer its caller does not read: inside the scope, it is held. */
export const HELD = '/* held */';

/**
 * Marks a query of several statements whose caller reads each one's rows: it is answered
 * with `rows` holding one array of rows per statement (`readTogether` in repositories.ts).
 */
export const RESULTS = '/* results */';

/** Whether the caller runs inside `withPipelinedStatements` (so RESULTS is understood). */
export function pipelining(): boolean {
  return scope.getStore() === true;
}

type Kind = 'begin' | 'end' | 'rollback-to-savepoint' | 'held' | 'other';

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const END = /^\s*(commit|rollback|end|abort)\b/i;
const ROLLBACK = /^\s*(rollback|abort)\b/i;
const ROLLBACK_TO_SAVEPOINT = /^\s*rollback\s+to\b/i;
/** Between statements sent together: on a line of its own, so a statement's trailing `--` comment cannot swallow it. */
export const SEPARATOR = '\n;\n';
const WRITE = /^\s*(insert|update|delete)\b/i;
const RETURNING = /\breturning\b/i;

function kindOf(text: string): Kind {
  if (BEGIN.test(text)) return 'begin';
  if (ROLLBACK_TO_SAVEPOINT.test(text)) return 'rollback-to-savepoint';
  if (END.test(text)) return 'end';
  if (text.startsWith(HELD) || (WRITE.test(text) && !RETURNING.test(text))) return 'held';
  return 'other';
}

/** What a held statement reports instead of PostgreSQL's answer. */
function heldResult(): pg.QueryResult {
  return { command: null as unknown as string, rowCount: null, oid: 0, rows: [], fields: [] };
}

/**
 * A `pg` client that pipelines a transaction's statements as described above. Given to the
 * ORM's pool (`driverOptions.Client`): outside `withPipelinedStatements` it is a plain client.
 */
export class PipeliningClient extends pg.Client {
  /** Statements resolved already, sent in front of the next one. */
  private held: string[] = [];
  private inTransaction = false;

  // pg's query() has many overloads; only the promise form with one statement of text and no
  // bound values is ever held or sent with held ones, every other form goes as it came.
  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    const noValues = values === undefined || (Array.isArray(values) && values.length === 0);
    if (typeof text === 'string' && text.startsWith(RESULTS) && callback === undefined && noValues) {
      return this.send(text).then((results) => {
        const each = Array.isArray(results) ? (results as pg.QueryResult[]) : [results as pg.QueryResult];
        return { command: 'SELECT', rowCount: null, oid: 0, fields: [], rows: each.map((result): unknown[] => result.rows) };
      }) as never;
    }
    const simple = typeof text === 'string' && callback === undefined && noValues && !text.includes(';');
    if (!simple) return this.sendHeldFirst(args);
    const kind = kindOf(text);
    // A rollback to a savepoint drops what was held since (it was issued after the savepoint,
    // whose own statement sent everything before it); the transaction goes on.
    if (kind === 'rollback-to-savepoint') this.held = [];
    if (kind === 'begin') this.inTransaction = true;
    if (kind === 'end') {
      this.inTransaction = false;
      // A rollback discards the held statements with the rest of the transaction.
      if (ROLLBACK.test(text)) this.held = [];
    }
    if (scope.getStore() === true && this.inTransaction && (kind === 'begin' || kind === 'held')) {
      this.held.push(text);
      return Promise.resolve(heldResult()) as never;
    }
    return this.send(text) as never;
  }

  /** Sends `text` with the held statements in front of it, as one trip. */
  private send(text: string): Promise<unknown> {
    const held = this.held;
    this.held = [];
    const plain = super.query.bind(this) as (text: string) => Promise<pg.QueryResult | pg.QueryResult[]>;
    if (held.length === 0) return plain(text);
    return plain(`${held.join(SEPARATOR)}${SEPARATOR}${text}`).then((results) => {
      // One result per statement: the held ones come first.
      const own = (results as pg.QueryResult[]).slice(held.length);
      return own.length === 1 ? own[0] : own;
    });
  }

  /** A query that cannot be sent with the held statements: they go first, on their own. */
  private sendHeldFirst(args: unknown[]): never {
    const plain = super.query.bind(this) as (...a: unknown[]) => never;
    if (this.held.length === 0) return plain(...args);
    const [text, values, callback] = args;
    if (typeof text !== 'string' || typeof values === 'function' || callback !== undefined) {
      // A cursor or a callback inside the unit of work: nothing sends one, and its answer could
      // not carry a held statement's error. Refused rather than reported wrongly.
      throw new Error('a cursor or callback query cannot follow statements held by the unit of work');
    }
    const held = this.held.join(SEPARATOR);
    this.held = [];
    // Both go now (pg runs a client's queries in order); if a held statement failed, its error
    // is the one reported, not the "current transaction is aborted" that follows it.
    const first = plain(held) as Promise<unknown>;
    const second = plain(...args) as Promise<unknown>;
    return Promise.allSettled([first, second]).then(([a, b]) => {
      if (a.status === 'rejected') throw a.reason;
      if (b.status === 'rejected') throw b.reason;
      return b.value;
    }) as never;
  }
}

/** Whether `orm`'s pool is made of PipeliningClients (the unit of work pipelines only then). */
export function poolPipelines(driverOptions: unknown): boolean {
  return (driverOptions as { Client?: unknown } | undefined)?.Client === PipeliningClient;
}
