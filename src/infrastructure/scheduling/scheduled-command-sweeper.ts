import type { Queue } from 'bullmq';
import { commandJob, commandPayloads, isCommandType } from '../../../queues/commands.js';
import type { Logger } from '../logger.js';
import { dueAt } from '../queue/bullmq-command-sender.js';
import { FailureStreak } from '../failure-streak.js';
import { PeriodicTask } from '../periodic.js';
import type { PgScheduledCommands } from './pg-scheduled-commands.js';

export interface ScheduledCommandSweeperOptions {
  scheduled: PgScheduledCommands;
  /** The `commands` queue (a producer). */
  commands: Queue;
  logger: Logger;
  /** How often to look (SWEEP_INTERVAL_MS). */
  intervalMs?: number;
  /** Rows younger than this are left to the web process that is adding their job (SWEEP_GRACE_MS). */
  graceMs?: number;
  batchSize?: number;
}

/**
 * How long after its Run-At a command without an outcome and without a job is still restored:
 * the retention of failed command jobs (queues/commands.ts). Past it, a missing job may be one
 * that failed for good (no outcome row: its payload was unreadable, or infrastructure errors
 * outlasted its retries) and aged out, and running it now would surprise everyone.
 */
export const RESTORE_OVERDUE_MS = 7 * 24 * 3600 * 1000;

/**
 * PostgreSQL, not Redis, is the source of truth for scheduled commands
 * (docs/adr/0008-scheduled-commands-cancellation-live-status.md). Each pass re-adds the delayed job of every scheduled
 * command that is due before the next pass but one, has no outcome, and whose job Redis no
 * longer has (it lost its data, or someone removed the job) — with the same job id, due at the
 * same Run-At, so it runs on time, or at once if that is past. Rows of commands that have an
 * outcome are pruned. Two sweepers at once are harmless: the job id is the command id.
 */
export class ScheduledCommandSweeper {
  private readonly intervalMs: number;
  private readonly periodic: PeriodicTask;

  constructor(private readonly options: ScheduledCommandSweeperOptions) {
    this.intervalMs = options.intervalMs ?? 30_000;
    this.periodic = new PeriodicTask(
      () => this.sweep(),
      this.intervalMs,
      new FailureStreak(options.logger, 'scheduled command sweep failed'),
    );
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass; returns how many jobs it restored. */
  async sweep(): Promise<number> {
    const { scheduled, commands, logger } = this.options;
    await scheduled.pruneSettled();
    const rows = await scheduled.dueWithoutOutcome({
      // Two intervals ahead: a job restored now is waiting when its time comes.
      aheadMs: 2 * this.intervalMs,
      behindMs: RESTORE_OVERDUE_MS,
      graceMs: this.options.graceMs ?? 30_000,
      limit: this.options.batchSize ?? 1000,
    });
    let restored = 0;
    for (const row of rows) {
      if ((await commands.getJobState(row.commandId)) !== 'unknown') continue;
      if (!isCommandType(row.commandType)) {
        logger.error({ commandId: row.commandId, type: row.commandType }, 'scheduled command of an unknown type: not restored');
        continue;
      }
      const parsed = commandPayloads[row.commandType].safeParse(row.payload);
      if (!parsed.success) {
        logger.error({ commandId: row.commandId, type: row.commandType }, 'scheduled command with an unreadable payload: not restored');
        continue;
      }
      const job = commandJob(row.commandType, parsed.data, { sentBy: row.sentBy });
      await commands.add(job.name, job.data, { ...job.opts, ...dueAt(row.runAt) });
      restored += 1;
    }
    if (restored > 0) logger.warn({ restored }, 'sweeper restored scheduled commands missing from Redis');
    return restored;
  }
}
