import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * A statement PostgreSQL parses and plans once per connection (docs/adr/0018-prepared-statements.md).
 *
 * `pg` sends a query with values as an unnamed statement: PostgreSQL parses, analyses and plans
 * it on every execution. For the claim-and-record statements of the relay, mailer and webhooks
 * worker — CTEs over several tables, run once or twice per email or delivery — planning cost
 * several times what executing did (0.15 ms against 0.03 ms for the email claim, warm). A named
 * statement is parsed once per connection, and after five executions PostgreSQL may keep a
 * generic plan and not plan again at all.
 *
 * The name is derived from the text, so one name can never stand for two texts on a connection
 * (pg refuses that), and the same text always reuses its statement. Only for constant texts:
 * a text built per call would leave a statement behind on the connection for every variant.
 */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
  /** The query config for `pool.query` / `client.query` with these values. */
  with(values: unknown[]): pg.QueryConfig;
}

export function preparedStatement(text: string): PreparedStatement {
  const name = `conveyor_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
  return { name, text, with: (values) => ({ name, text, values }) };
}

/**
 * Whether a connection that answered `error` must not be reused: its prepared statements no
 * longer fit the schema. After a migration changes what a prepared statement returns,
 * PostgreSQL refuses it on every connection that prepared it ("cached plan must not change
 * result type", 0A000) and pg has no way to re-prepare it on that connection; a statement the
 * server forgot (26000) is as stuck. `pool.query` already discards a client whose query
 * failed; a client checked out with `pool.connect()` must be released with the error.
 */
export function staleStatement(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && (code === '0A000' || code === '26000');
}
