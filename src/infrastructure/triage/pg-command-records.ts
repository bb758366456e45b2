import type pg from 'pg';
import type {
  CommandFilter,
  CommandPosition,
  CommandRecords,
  GaveUpCommandRecord,
  ListedCommand,
  ListedCommandStatus,
} from '../../application/commerce/triage/ports.js';

// The commands of the triage listing on PostgreSQL: outcomes from processed_commands, and the
// commands that gave up from gave_up_commands (those that have no outcome since). Each side is
// walked newest first on its (finished time, command_id) index, from the cursor's position,
// and the two are merged; only the predicates a filter sets are in the SQL, so the planner sees
// plain conditions. Works on the read pool (listing) and on the primary (retry).

interface Row {
  command_id: string;
  command_type: string;
  status: string;
  attempts: number | null;
  aggregate_key: string | null;
  error: unknown;
  finished_at: Date;
  retried_at: Date | null;
}

interface GaveUpRow {
  command_id: string;
  command_type: string;
  payload: Record<string, unknown>;
  finished_at: Date;
}

const OUTCOMES: readonly ListedCommandStatus[] = ['succeeded', 'failed', 'cancelled'];

/** The parameters of one statement, and the placeholders that name them. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The conditions of `filter` and of the position `after` on one side. `t` is the table's
 * alias, `at` its finished-time column.
 */
function conditions(filter: CommandFilter, after: CommandPosition | null, params: Params, t: string, at: string): string[] {
  const where: string[] = [];
  if (filter.commandId !== undefined) where.push(`${t}.command_id = ${params.add(filter.commandId)}::uuid`);
  if (filter.type !== undefined) where.push(`${t}.command_type = ${params.add(filter.type)}`);
  if (filter.errorCode !== undefined) where.push(`${t}.error->>'code' = ${params.add(filter.errorCode)}`);
  if (filter.since !== undefined) where.push(`${t}.${at} >= ${params.add(filter.since)}`);
  if (filter.until !== undefined) where.push(`${t}.${at} < ${params.add(filter.until)}`);
  if (after) where.push(`(${t}.${at}, ${t}.command_id) < (${params.add(after.finishedAt)}::timestamptz, ${params.add(after.commandId)}::uuid)`);
  return where;
}

/** The processed_commands side, or null when the filter's status rules it out. */
function outcomesSide(filter: CommandFilter, after: CommandPosition | null, params: Params): string | null {
  if (filter.status !== undefined && !OUTCOMES.includes(filter.status)) return null;
  const where = conditions(filter, after, params, 'p', 'processed_at');
  // Only failures carry an error: naming the status lets processed_commands_failed_index serve.
  const status = filter.errorCode !== undefined ? 'failed' : filter.status;
  if (status !== undefined) where.push(`p.status = ${params.add(status)}`);
  return `select p.command_id, p.command_type, p.status, coalesce(p.attempts, 0) + coalesce(g.attempts, 0) as attempts, p.aggregate_key,
      p.error, p.processed_at as finished_at, g.retried_at
    from processed_commands p left join gave_up_commands g on g.command_id = p.command_id
    ${whereClause(where)}`;
}

/** The gave_up_commands side (commands with no outcome since), or null when the status rules it out. */
function gaveUpSide(filter: CommandFilter, after: CommandPosition | null, params: Params, columns: string): string | null {
  if (filter.status !== undefined && OUTCOMES.includes(filter.status)) return null;
  const where = conditions(filter, after, params, 'g', 'gave_up_at');
  where.push('not exists (select 1 from processed_commands p where p.command_id = g.command_id)');
  if (filter.status === 'gave_up') where.push('g.retried_at is null');
  if (filter.status === 'retrying') where.push('g.retried_at is not null');
  return `select ${columns} from gave_up_commands g ${whereClause(where)}`;
}

const GAVE_UP_COLUMNS = `g.command_id, g.command_type,
  case when g.retried_at is null then 'gave_up' else 'retrying' end as status,
  g.attempts, g.aggregate_key, g.error, g.gave_up_at as finished_at, g.retried_at`;

const NEWEST_FIRST = 'order by finished_at desc, command_id desc';

function whereClause(where: string[]): string {
  return where.length > 0 ? `where ${where.join(' and ')}` : '';
}

export class PgCommandRecords implements CommandRecords {
  constructor(private readonly pool: pg.Pool) {}

  async list(filter: CommandFilter, after: CommandPosition | null, limit: number): Promise<ListedCommand[]> {
    const params = new Params();
    const sides = [outcomesSide(filter, after, params), gaveUpSide(filter, after, params, GAVE_UP_COLUMNS)].filter(
      (side): side is string => side !== null,
    );
    const max = params.add(limit);
    // Each side takes its own newest `limit` on its index; the merge keeps the newest of both.
    const sql = `select * from (${sides.map((side) => `(${side} ${NEWEST_FIRST} limit ${max})`).join(' union all ')}) c
      ${NEWEST_FIRST} limit ${max}`;
    const { rows } = await this.pool.query<Row>(sql, params.values);
    return rows.map(toListed);
  }

  async count(filter: CommandFilter): Promise<number> {
    const params = new Params();
    const sides = [outcomesSide(filter, null, params), gaveUpSide(filter, null, params, GAVE_UP_COLUMNS)].filter(
      (side): side is string => side !== null,
    );
    const sql = `select ${sides.map((side) => `(select count(*) from (${side}) s)`).join(' + ')} as n`;
    const { rows } = await this.pool.query<{ n: string }>(sql, params.values);
    return Number(rows[0]?.n ?? 0);
  }

  async gaveUp(filter: CommandFilter, after: CommandPosition | null, limit: number): Promise<GaveUpCommandRecord[]> {
    const params = new Params();
    const side = gaveUpSide(filter, after, params, 'g.command_id, g.command_type, g.payload, g.gave_up_at as finished_at');
    if (side === null) return [];
    const { rows } = await this.pool.query<GaveUpRow>(`${side} ${NEWEST_FIRST} limit ${params.add(limit)}`, params.values);
    return rows.map((row) => ({ commandId: row.command_id, type: row.command_type, payload: row.payload, finishedAt: row.finished_at }));
  }

  async markRetried(commandIds: readonly string[], at: Date): Promise<void> {
    await this.pool.query('update gave_up_commands set retried_at = $2 where command_id = any($1::uuid[])', [commandIds, at]);
  }
}

function toListed(row: Row): ListedCommand {
  return {
    commandId: row.command_id,
    type: row.command_type,
    status: listedStatus(row.status, row.command_id),
    attempts: row.attempts,
    error: toError(row.error),
    aggregate: row.aggregate_key,
    finishedAt: row.finished_at,
    retriedAt: row.retried_at,
  };
}

function listedStatus(value: string, commandId: string): ListedCommandStatus {
  switch (value) {
    case 'succeeded':
    case 'failed':
    case 'cancelled':
    case 'gave_up':
    case 'retrying':
      return value;
    default:
      throw new Error(`command ${commandId} has unknown status "${value}"`);
  }
}

function toError(value: unknown): { code: string; message: string } | null {
  if (value === null || value === undefined) return null;
  const { code, message } = value as Record<string, unknown>;
  return { code: typeof code === 'string' ? code : 'failed', message: typeof message === 'string' ? message : '' };
}
