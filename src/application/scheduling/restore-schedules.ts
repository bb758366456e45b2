import type { ScheduleRepository, Scheduler } from './ports.js';

/**
 * Gives every schedule PostgreSQL keeps a job scheduler in Redis again, if Redis lost it (or
 * a creation died between the two). Those that have one are left alone, so their ticks go on
 * unchanged. Returns how many it restored. The relay runs it on SWEEP_INTERVAL_MS.
 */
export class RestoreSchedules {
  constructor(
    private readonly schedules: Pick<ScheduleRepository, 'list'>,
    private readonly scheduler: Pick<Scheduler, 'put' | 'nextRuns'>,
  ) {}

  async execute(): Promise<number> {
    const [all, present] = await Promise.all([this.schedules.list(), this.scheduler.nextRuns()]);
    const missing = all.filter((schedule) => !present.has(schedule.id));
    for (const schedule of missing) await this.scheduler.put(schedule);
    return missing.length;
  }
}
