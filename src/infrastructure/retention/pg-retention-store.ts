import type pg from 'pg';
import type {
  PrunedBatch,
  RetainedTable,
  RetentionKind,
  RetentionStore,
  WalkPosition,
} from '../../application/retention/ports.js';

// Retention's deletes in plain SQL on the process's pg pool (docs/adr/0010-retention.md).
//
// Each kind is walked oldest first along an index, in batches: one statement picks the next
// `limit` candidates after the previous batch's last key, re-checks under `FOR UPDATE SKIP
// LOCKED` that each has expired (a row someone is working on is skipped, and taken by a later
// run), deletes those, and answers how far it got. A batch is one short transaction, so the
// row locks it holds last only as long as deleting at most `limit` rows does; the walk goes on
// from the key, not from the start, so candidates that stay (an event an email still needs)
// are read once per run, not once per batch.

/** The one advisory lock of retention runs (two int4 keys: "conv", "retn"), per database. */
const LOCK_KEYS = [1668247158, 1919251566] as const;

interface KindSql {
  table: string;
  /** The primary key column (uuid). */
  id: string;
  /** The time the walk goes by; (at, id) is indexed. */
  at: string;
  /** The statuses walked one after another (each an index range), or none. */
  statuses?: readonly string[];
  /** Which rows are candidates; `$1` is the cutoff, `$STATUS` the status walked. */
  candidates: string;
  /** Re-checked on the locked row `t` before it is deleted. */
  expired: string;
  /** Rows of another table that go with each deleted row: `dependents.column` = its id. */
  dependents?: { table: RetainedTable; column: string };
}

const SQL: { readonly [K in RetentionKind]: KindSql & { table: RetainedTable } } = {
  // Settled emails by their status index; a resent one counts from when it last settled (a row
  // settled before finished_at was recorded, from its creation).
  emails: {
    table: 'email_messages',
    id: 'id',
    at: 'created_at',
    statuses: ['sent', 'failed'],
    candidates: 'status = $STATUS and created_at < $1',
    expired: 't.status = $STATUS and coalesce(t.finished_at, t.created_at) < $1',
  },
  // Settled deliveries not attempted since the cutoff (a replay counts as new), with their attempts.
  webhookDeliveries: {
    table: 'webhook_deliveries',
    id: 'id',
    at: 'created_at',
    statuses: ['delivered', 'failed'],
    candidates: 'status = $STATUS and created_at < $1',
    expired: `t.status = $STATUS and not exists (
      select 1 from webhook_delivery_attempts a where a.delivery_id = t.id and a.attempted_at >= $1)`,
    dependents: { table: 'webhook_delivery_attempts', column: 'delivery_id' },
  },
  // Published events nothing still needs: no pending delivery (its body is its own, but the
  // relay's work on the event is not done) and no email row at all (emails are rendered from
  // the event at every send, and a sent or failed one can be resent).
  outbox: {
    table: 'outbox_messages',
    id: 'id',
    at: 'published_at',
    candidates: 'published_at < $1',
    expired: `not exists (select 1 from webhook_deliveries d where d.event_id = t.id and d.status = 'pending')
      and not exists (select 1 from email_messages m where m.event_id = t.id)`,
  },
  processedCommands: {
    table: 'processed_commands',
    id: 'command_id',
    at: 'processed_at',
    candidates: 'processed_at < $1',
    expired: 'true',
  },
  // Commands that gave up, by when they did; one retried since counts from its retry (it gave up
  // again if it failed again, which moves gave_up_at).
  gaveUpCommands: {
    table: 'gave_up_commands',
    id: 'command_id',
    at: 'gave_up_at',
    candidates: 'gave_up_at < $1',
    expired: 'coalesce(t.retried_at, t.gave_up_at) < $1',
  },
  // Runs of schedules, by when the worker recorded them.
  scheduleRuns: {
    table: 'schedule_runs',
    id: 'command_id',
    at: 'created_at',
    candidates: 'created_at < $1',
    expired: 'true',
  },
};

/** Where a walk is: which of the kind's statuses, and the last key read in it (none yet: null). */
interface Position {
  status: number;
  at: Date | null;
  id: string | null;
}

interface BatchRow {
  scanned: number;
  deleted: number;
  dependents: number;
  last_at: Date | null;
  last_id: string | null;
}

/** The statement of one batch; `status` and `afterKey` are the placeholders of the status walked and of the last key read. */
function batchSql(kind: KindSql, status: string, afterKey: string | null): string {
  const { table, id, at } = kind;
  const fill = (text: string) => text.replaceAll('$STATUS', status);
  const after = afterKey === null ? '' : `and (${at}, ${id}) > (${afterKey})`;
  const dependents = kind.dependents
    ? `dependents as (delete from ${kind.dependents.table} where ${kind.dependents.column} in (select id from doomed) returning 1),`
    : '';
  return `
    with batch as (
      select ${id} as id, ${at} as at from ${table}
       where ${fill(kind.candidates)} ${after}
       order by ${at}, ${id}
       limit $2
    ), doomed as (
      select t.${id} as id from ${table} t join batch b on b.id = t.${id}
       where ${fill(kind.expired)}
       for update of t skip locked
    ), ${dependents} deleted as (
      delete from ${table} where ${id} in (select id from doomed) returning 1
    )
    select (select count(*)::int from batch) as scanned,
           (select count(*)::int from deleted) as deleted,
           ${kind.dependents ? '(select count(*)::int from dependents)' : '0'} as dependents,
           (select at from batch order by at desc, id desc limit 1) as last_at,
           (select id from batch order by at desc, id desc limit 1) as last_id`;
}

export class PgRetentionStore implements RetentionStore {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * A session-level advisory lock on a connection of its own, held while `run` runs (its
   * statements use other connections of the pool). A process that dies mid-run closes the
   * session, and the lock goes with it.
   */
  async exclusively<T>(run: () => Promise<T>): Promise<T | null> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const {
        rows: [row],
      } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [...LOCK_KEYS]);
      if (!row?.locked) return null;
      try {
        return await run();
      } finally {
        await client.query('select pg_advisory_unlock($1, $2)', [...LOCK_KEYS]).catch((error: unknown) => {
          // The lock stays with the session: the connection must not go back to the pool.
          broken = error instanceof Error ? error : new Error(String(error));
        });
      }
    } finally {
      client.release(broken);
    }
  }

  async pruneBatch(kind: RetentionKind, cutoff: Date, after: WalkPosition | null, limit: number): Promise<PrunedBatch> {
    const spec = SQL[kind];
    const position = (after as Position | null) ?? { status: 0, at: null, id: null };
    const statuses = spec.statuses ?? [];
    const params: unknown[] = [cutoff, limit];
    const placeholder = (value: unknown) => `$${params.push(value)}`;
    const status = statuses.length > 0 ? placeholder(statuses[position.status]) : '';
    const afterKey = position.at === null ? null : `${placeholder(position.at)}, ${placeholder(position.id)}::uuid`;
    const {
      rows: [row],
    } = await this.pool.query<BatchRow>(batchSql(spec, status, afterKey), params);
    if (!row) throw new Error(`retention batch of ${kind} answered no row`);

    const deleted: PrunedBatch['deleted'] = { [spec.table]: row.deleted };
    if (spec.dependents) deleted[spec.dependents.table] = row.dependents;
    let next: Position | null;
    if (row.scanned >= limit && row.last_at && row.last_id) next = { status: position.status, at: row.last_at, id: row.last_id };
    else if (position.status + 1 < statuses.length) next = { status: position.status + 1, at: null, id: null };
    else next = null;
    return { deleted, next };
  }
}
