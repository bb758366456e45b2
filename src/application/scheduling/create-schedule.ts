import type { Clock } from '../clock.js';
import { InvalidScheduleError } from './errors.js';
import type { ScheduleRepository, Scheduler } from './ports.js';
import { parseRecurrence, parseScheduleName, type RecurrenceInput, type Schedule, type ScheduledCommand } from './schedule.js';

export interface CreateScheduleInput extends RecurrenceInput {
  name: string;
  command: ScheduledCommand;
}

/**
 * What is wrong with a command a schedule would run, or null when nothing is: the queue
 * contract (queues/schedules.ts) judges it, which the application cannot import, so the
 * composition root hands the check in.
 */
export type ScheduledCommandCheck = (command: ScheduledCommand) => string | null;

/**
 * Creates a recurring schedule.
 * - the name is 1..200 characters (`invalid_schedule`);
 * - exactly one of `every` (whole seconds, 1 s to 366 days) and `cron` (5 fields, one that
 *   fires), with a `timezone` for cron only, UTC by default (`invalid_schedule`);
 * - the command is one a schedule may run, with a body its contract accepts (`invalid_schedule`);
 * - PostgreSQL keeps the definition, a BullMQ job scheduler runs it: an `every` schedule
 *   runs at once and then every N seconds from then on, a cron schedule at its next matching
 *   minute.
 */
export class CreateSchedule {
  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly scheduler: Scheduler,
    private readonly checkCommand: ScheduledCommandCheck,
    private readonly newId: () => string,
    private readonly clock: Clock,
  ) {}

  async execute(input: CreateScheduleInput): Promise<Schedule> {
    const name = parseScheduleName(input.name);
    const recurrence = parseRecurrence(input);
    const problem = this.checkCommand(input.command);
    if (problem !== null) throw new InvalidScheduleError(`command: ${problem}`);
    const schedule: Schedule = { id: this.newId(), name, recurrence, command: input.command, createdAt: this.clock.now() };
    // PostgreSQL first: a tick that finds no row for its schedule removes the job scheduler
    // (see StartScheduledRun), so the row must exist before the scheduler can tick. If Redis
    // refuses the scheduler, the row goes again and the caller sees the error; if this process
    // dies in between, RestoreSchedules gives the row its scheduler later.
    await this.schedules.add(schedule);
    try {
      await this.scheduler.put(schedule);
    } catch (error) {
      await this.schedules.delete(schedule.id).catch(() => undefined);
      throw error;
    }
    return schedule;
  }
}
