import { ScheduleNotFoundError } from './errors.js';
import type { ScheduleRepository } from './ports.js';
import type { ScheduleRun } from './schedule.js';

export const DEFAULT_RUNS_PAGE = 20;
export const MAX_RUNS_PAGE = 100;

/** The latest runs a schedule started, newest first; `schedule_not_found` when there is none. */
export class ListScheduleRuns {
  constructor(private readonly schedules: Pick<ScheduleRepository, 'find' | 'runs'>) {}

  async execute(input: { scheduleId: string; limit?: number }): Promise<ScheduleRun[]> {
    if (!(await this.schedules.find(input.scheduleId))) throw new ScheduleNotFoundError(input.scheduleId);
    const limit = Math.min(Math.max(input.limit ?? DEFAULT_RUNS_PAGE, 1), MAX_RUNS_PAGE);
    return this.schedules.runs(input.scheduleId, limit);
  }
}
