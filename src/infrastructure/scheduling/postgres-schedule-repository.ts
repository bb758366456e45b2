import type pg from 'pg';
import type { ScheduleRepository } from '../../application/scheduling/ports.js';
import type { Recurrence, Schedule, ScheduleRun } from '../../application/scheduling/schedule.js';

import { isUuid } from '../persistence/columns.js';

const COLUMNS = 'id, name, every_seconds, cron, timezone, command_type, command_body, created_at';

interface ScheduleRow {
  id: string;
  name: string;
  every_seconds: number | null;
  cron: string | null;
  timezone: string | null;
  command_type: string;
  command_body: Record<string, unknown>;
  created_at: Date;
}

/** Schedules and their runs in PostgreSQL (tables `schedules`, `schedule_runs`), plain SQL. */
export class PostgresScheduleRepository implements ScheduleRepository {
  constructor(private readonly pool: pg.Pool) {}

  async add(schedule: Schedule): Promise<void> {
    const { recurrence } = schedule;
    const every = 'every' in recurrence ? recurrence.every : null;
    const cron = 'cron' in recurrence ? [recurrence.cron, recurrence.timezone] : [null, null];
    await this.pool.query(
      `insert into schedules (${COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [schedule.id, schedule.name, every, ...cron, schedule.command.type, JSON.stringify(schedule.command.body), schedule.createdAt],
    );
  }

  async find(id: string): Promise<Schedule | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.pool.query<ScheduleRow>(`select ${COLUMNS} from schedules where id = $1`, [id]);
    return rows[0] ? scheduleOf(rows[0]) : null;
  }

  async list(): Promise<Schedule[]> {
    const { rows } = await this.pool.query<ScheduleRow>(`select ${COLUMNS} from schedules order by created_at, id`);
    return rows.map(scheduleOf);
  }

  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { rows } = await this.pool.query<{ n: number }>(
      `with deleted as (delete from schedules where id = $1 returning id),
            runs as (delete from schedule_runs where schedule_id in (select id from deleted))
       select count(*)::int as n from deleted`,
      [id],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  async runs(scheduleId: string, limit: number): Promise<ScheduleRun[]> {
    const { rows } = await this.pool.query<{ command_id: string; due_at: Date }>(
      'select command_id, due_at from schedule_runs where schedule_id = $1 order by due_at desc, command_id desc limit $2',
      [scheduleId, limit],
    );
    return rows.map((row) => ({ scheduleId, commandId: row.command_id, dueAt: row.due_at }));
  }
}

function scheduleOf(row: ScheduleRow): Schedule {
  const recurrence: Recurrence =
    row.every_seconds !== null ? { every: row.every_seconds } : { cron: row.cron ?? '', timezone: row.timezone ?? 'UTC' };
  return {
    id: row.id,
    name: row.name,
    recurrence,
    command: { type: row.command_type, body: row.command_body },
    createdAt: row.created_at,
  };
}
