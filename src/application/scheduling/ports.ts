import type { Schedule, ScheduleRun } from './schedule.js';

/** Where schedules and their runs are kept (PostgreSQL: the source of truth). */
export interface ScheduleRepository {
  add(schedule: Schedule): Promise<void>;
  find(id: string): Promise<Schedule | null>;
  /** Every schedule, oldest first. */
  list(): Promise<Schedule[]>;
  /** Deletes the schedule and its runs; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** The latest runs of a schedule, newest first. */
  runs(scheduleId: string, limit: number): Promise<ScheduleRun[]>;
}

/** Where each run is recorded when it starts (the worker's side of the repository). */
export interface ScheduleRunLog {
  /**
   * Records the run (again: a second call for the same command id changes nothing) and answers
   * true, or answers false without recording it when the schedule no longer exists.
   */
  record(run: ScheduleRun): Promise<boolean>;
}

/** What runs schedules on time (BullMQ's job schedulers on the `commands` queue). */
export interface Scheduler {
  /** Creates the job scheduler of `schedule`, or replaces it with the same settings. */
  put(schedule: Schedule): Promise<void>;
  /** Removes the job scheduler and its next tick; nothing when there is none. */
  remove(scheduleId: string): Promise<void>;
  /** The next tick of every job scheduler, by schedule id. */
  nextRuns(): Promise<Map<string, Date>>;
  /** The next tick of one schedule, or null when no job scheduler holds it. */
  nextRun(scheduleId: string): Promise<Date | null>;
}
