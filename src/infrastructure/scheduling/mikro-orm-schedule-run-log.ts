import type { MikroORM } from '@mikro-orm/postgresql';
import type { ScheduleRunLog } from '../../application/scheduling/ports.js';
import type { ScheduleRun } from '../../application/scheduling/schedule.js';

/**
 * Records runs for the command worker, on the ORM's pool (the worker opens no other): one plain
 * statement that inserts the run only while its schedule exists, and says whether it does.
 */
export class MikroOrmScheduleRunLog implements ScheduleRunLog {
  constructor(private readonly orm: MikroORM) {}

  async record(run: ScheduleRun): Promise<boolean> {
    const [row] = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ n: number }[]>(
        `with schedule as (select id from schedules where id = ?),
              recorded as (
                insert into schedule_runs (command_id, schedule_id, due_at, created_at)
                select ?, id, ?, now() from schedule
                on conflict (command_id) do nothing)
         select count(*)::int as n from schedule`,
        [run.scheduleId, run.commandId, run.dueAt],
      );
    return (row?.n ?? 0) > 0;
  }
}
