import type { ScheduleRunLog, Scheduler } from './ports.js';

export interface StartScheduledRunInput<C> {
  scheduleId: string;
  /** Derived from the tick, so a tick delivered twice names the same command. */
  commandId: string;
  /** The tick the run is for. */
  dueAt: Date;
  /** The run's command, ready for the queue (built and checked against the contract by the worker). */
  command: C;
}

export interface StartScheduledRunOutput {
  commandId: string;
  /** False when the schedule had been deleted: nothing was started. */
  started: boolean;
}

/**
 * Starts the run of one tick of a schedule: an ordinary command with its own id.
 * - the run is recorded under its schedule, then its command is queued (job id = command id);
 *   a tick delivered again records and queues the same command id, so it runs once;
 * - a tick of a schedule that no longer exists in PostgreSQL starts nothing and removes its
 *   job scheduler (left behind by a deletion that did not finish).
 */
export class StartScheduledRun<C> {
  constructor(
    private readonly runs: ScheduleRunLog,
    private readonly scheduler: Pick<Scheduler, 'remove'>,
    private readonly commands: { send(command: C): Promise<void> },
  ) {}

  async execute(input: StartScheduledRunInput<C>): Promise<StartScheduledRunOutput> {
    const { scheduleId, commandId, dueAt } = input;
    if (!(await this.runs.record({ scheduleId, commandId, dueAt }))) {
      await this.scheduler.remove(scheduleId);
      return { commandId, started: false };
    }
    // Recorded before it is queued: a run is never queued without being listed under its
    // schedule. A crash in between leaves the tick's job to be retried, which queues it then.
    await this.commands.send(input.command);
    return { commandId, started: true };
  }
}
