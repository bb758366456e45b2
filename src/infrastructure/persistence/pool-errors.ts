import type pg from 'pg';

/**
 * pg emits 'error' on a client whose connection ends unexpectedly (PostgreSQL stopped, the
 * backend terminated). pg-pool listens for that only while the client is idle: a client that
 * is checked out when it happens has no listener, and the 'error' event ends the process.
 * This gives a client a listener of its own while it is checked out (pg-pool's 'acquire' to
 * its 'release'); an idle client's failure stays the pool's own 'error', reported once. The
 * query in flight still fails with its own error, and the pool drops the client when it is
 * released (it is no longer queryable). MikroORM's own pool (the unit of work's) needs none of
 * this: MikroORM 7 gives each of its clients a listener itself (PostgreSqlConnection.handlePoolErrors).
 */
export function reportCheckedOutErrors(pool: pg.Pool, onError: (error: Error) => void): void {
  pool.on('acquire', (client) => {
    client.on('error', onError);
  });
  pool.on('release', (_error, client) => {
    client.removeListener('error', onError);
  });
}
