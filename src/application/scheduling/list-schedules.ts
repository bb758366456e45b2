import type { ScheduleRepository, Scheduler } from './ports.js';
import type { ScheduleView } from './schedule.js';

/** Every schedule, oldest first, each with its next run (null while no job scheduler holds it). */
export class ListSchedules {
  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly scheduler: Pick<Scheduler, 'nextRuns'>,
  ) {}

  async execute(): Promise<ScheduleView[]> {
    const [all, next] = await Promise.all([this.schedules.list(), this.scheduler.nextRuns()]);
    return all.map((schedule) => ({ ...schedule, nextRunAt: next.get(schedule.id) ?? null }));
  }
}
