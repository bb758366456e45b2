import { readFileSync } from 'node:fs';
import pg from 'pg';

// Helpers of the fault tests (test/faults): random pauses, resident memory read from /proc,
// and SQL counts of where the rows stand.

/** A random duration in [min, max) milliseconds. */
export const between = (min: number, max: number): number => min + Math.random() * (max - min);

/**
 * A pg pool for a test's own SQL. `pool.end()` resolves before its connections have closed, so
 * the `drop database … with (force)` of the teardown may terminate one that is still closing:
 * that late "terminating connection due to administrator command" is not a test failure.
 */
export function sqlPool(connectionString: string): pg.Pool {
  const pool = new pg.Pool({ connectionString });
  pool.on('error', (error: Error & { code?: string }) => {
    if (error.code !== '57P01') throw error;
  });
  return pool;
}

/** Resident set size of a live process in MiB (Linux /proc), or NaN when it cannot be read. */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? Number.NaN : Math.round((Number(kib) / 1024) * 10) / 10;
  } catch {
    return Number.NaN;
  }
}

export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await pool.query<{ n: string }>(sql, params);
  return Number(rows.rows[0]?.n ?? 0);
}

/** Where every email and webhook row stands, for messages and figures. */
export async function deliveryState(pool: pg.Pool): Promise<Record<string, number>> {
  const rows = await pool.query<{ what: string; n: string }>(
    `select 'outbox_unpublished' as what, count(*) as n from outbox_messages where published_at is null
     union all select 'outbox', count(*) from outbox_messages
     union all select 'webhook_' || status, count(*) from webhook_deliveries group by status
     union all select 'email_' || status, count(*) from email_messages group by status`,
  );
  return Object.fromEntries(rows.rows.map((row) => [row.what, Number(row.n)]));
}
