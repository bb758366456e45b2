import type pg from 'pg';
import { coalescingSocket } from '../net/coalesced-writes.js';

/**
 * The configuration of a pg pool whose clients pipeline: pg's `pipeline: true` sends each query
 * without waiting for the answers to those before it, and every connection's socket sends the
 * queries issued in one turn of the event loop in one write (pg writes each query on its own,
 * so `BEGIN` and a claim issued together would otherwise be two system calls and two wake-ups
 * of the backend). Over TLS the socket is only the carrier of the TLS stream pg opens on it,
 * whose writes are its own. docs/adr/0022-coalesced-postgres-writes.md.
 */
export function pipeliningPoolConfig(config: pg.PoolConfig): pg.PoolConfig {
  return { ...config, pipeline: true, stream: coalescingSocket };
}

/**
 * Runs the statements on `client` in order and answers their results. A pipelining client sends
 * them together (one round trip; each still has its own result or error, and after an error the
 * server reports in a transaction the rest fail or, a COMMIT, roll back; an error pg raises
 * before sending a statement does not stop the ones after it); any other client sends them one by one,
 * as pg deprecates queueing a query behind another on such a client.
 */
export async function inOrder(client: pg.PoolClient, ...statements: (string | pg.QueryConfig)[]): Promise<pg.QueryResult[]> {
  // pg's overloads take a text or a config, not their union.
  const run = (statement: string | pg.QueryConfig) =>
    typeof statement === 'string' ? client.query(statement) : client.query(statement);
  if (client.pipeline) return Promise.all(statements.map(run));
  const results: pg.QueryResult[] = [];
  for (const statement of statements) results.push(await run(statement));
  return results;
}
