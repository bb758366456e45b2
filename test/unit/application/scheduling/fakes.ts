import type { ScheduleRepository, ScheduleRunLog, Scheduler } from '../../../../src/application/scheduling/ports.js';
import type { Schedule, ScheduleRun } from '../../../../src/application/scheduling/schedule.js';

/** Schedules and runs in memory, with the semantics of PostgresScheduleRepository and MikroOrmScheduleRunLog. */
export class InMemorySchedules implements ScheduleRepository, ScheduleRunLog {
  readonly schedules = new Map<string, Schedule>();
  readonly runLog = new Map<string, ScheduleRun>();
  /** Set to make the next `add` fail, as a database that is down would. */
  failNextAdd: Error | null = null;

  async add(schedule: Schedule): Promise<void> {
    const failure = this.failNextAdd;
    this.failNextAdd = null;
    if (failure) throw failure;
    this.schedules.set(schedule.id, structuredClone(schedule));
  }

  async find(id: string): Promise<Schedule | null> {
    return structuredClone(this.schedules.get(id) ?? null);
  }

  async list(): Promise<Schedule[]> {
    return [...this.schedules.values()].map((schedule) => structuredClone(schedule));
  }

  async delete(id: string): Promise<boolean> {
    for (const [commandId, run] of this.runLog) if (run.scheduleId === id) this.runLog.delete(commandId);
    return this.schedules.delete(id);
  }

  async runs(scheduleId: string, limit: number): Promise<ScheduleRun[]> {
    return [...this.runLog.values()]
      .filter((run) => run.scheduleId === scheduleId)
      .sort((a, b) => b.dueAt.getTime() - a.dueAt.getTime())
      .slice(0, limit);
  }

  async record(run: ScheduleRun): Promise<boolean> {
    if (!this.schedules.has(run.scheduleId)) return false;
    if (!this.runLog.has(run.commandId)) this.runLog.set(run.commandId, { ...run });
    return true;
  }
}

/** Job schedulers in memory; `calls` says what was asked of it, in order. */
export class InMemoryScheduler implements Scheduler {
  readonly held = new Map<string, { schedule: Schedule; next: Date }>();
  readonly calls: string[] = [];
  /** Set to make every call fail, as a Redis that is down would. */
  down: Error | null = null;

  constructor(private readonly next: (schedule: Schedule) => Date = () => new Date('2025-03-14T09:27:00.000Z')) {}

  async put(schedule: Schedule): Promise<void> {
    this.calls.push(`put ${schedule.id}`);
    if (this.down) throw this.down;
    this.held.set(schedule.id, { schedule, next: this.next(schedule) });
  }

  async remove(scheduleId: string): Promise<void> {
    this.calls.push(`remove ${scheduleId}`);
    if (this.down) throw this.down;
    this.held.delete(scheduleId);
  }

  async nextRuns(): Promise<Map<string, Date>> {
    if (this.down) throw this.down;
    return new Map([...this.held].map(([id, { next }]) => [id, next]));
  }

  async nextRun(scheduleId: string): Promise<Date | null> {
    if (this.down) throw this.down;
    return this.held.get(scheduleId)?.next ?? null;
  }
}
