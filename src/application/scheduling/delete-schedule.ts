import { ScheduleNotFoundError } from './errors.js';
import type { ScheduleRepository, Scheduler } from './ports.js';

/**
 * Deletes a schedule and the record of its runs (the runs' commands stay readable at
 * /v1/commands); `schedule_not_found` when there is none. No run starts after this answers,
 * except one whose tick was already being handled.
 */
export class DeleteSchedule {
  constructor(
    private readonly schedules: Pick<ScheduleRepository, 'delete'>,
    private readonly scheduler: Pick<Scheduler, 'remove'>,
  ) {}

  async execute(id: string): Promise<void> {
    // PostgreSQL first, as in CreateSchedule: once the row is gone, a tick that still fires
    // (this process died before the removal below) finds no schedule, starts nothing and
    // removes its job scheduler itself.
    if (!(await this.schedules.delete(id))) throw new ScheduleNotFoundError(id);
    // The schedule is deleted once its row is: should Redis fail to remove the job scheduler
    // now, its next tick removes it (above), so the answer is still "deleted".
    await this.scheduler.remove(id).catch(() => undefined);
  }
}
