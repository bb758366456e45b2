import { ScheduleNotFoundError } from './errors.js';
import type { ScheduleRepository, Scheduler } from './ports.js';
import type { ScheduleView } from './schedule.js';

/** One schedule with its next run; `schedule_not_found` when there is none. */
export class GetSchedule {
  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly scheduler: Pick<Scheduler, 'nextRun'>,
  ) {}

  async execute(id: string): Promise<ScheduleView> {
    const [schedule, nextRunAt] = await Promise.all([this.schedules.find(id), this.scheduler.nextRun(id)]);
    if (!schedule) throw new ScheduleNotFoundError(id);
    return { ...schedule, nextRunAt };
  }
}
