import type { CommandJobs, ProcessedCommandDto, QueuedCommandState, ReadModel } from './read-model.js';

/**
 * Every status a command can be in. `succeeded`, `failed` and `cancelled` are final; `gave_up`
 * is final unless an operator retries it (POST /v1/commands/retry).
 */
export const COMMAND_STATUSES = ['queued', 'scheduled', 'running', 'succeeded', 'failed', 'cancelled', 'gave_up'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export interface CommandStatusDto {
  commandId: string;
  type: string;
  /** `failed` and `cancelled` are final; `gave_up` ran out of retries on infrastructure errors and can be retried. */
  status: CommandStatus;
  attempts: number;
  /** When a scheduled command is due (ISO 8601); only while `status` is scheduled. */
  runAt?: string;
  result?: unknown;
  error?: { code: string; message: string };
  /** Queued behind this earlier command on the same order, user or product. */
  waitingFor?: string;
  /** The name of the API key that sent the command (absent when none did, e.g. a schedule). */
  sentBy?: string;
}

/**
 * The status of a command: the durable outcome from processed_commands when it has one,
 * otherwise the state of its job in the queue (queued, scheduled, running, or failed by
 * infrastructure after all retries), otherwise the Run-At record PostgreSQL kept of a scheduled
 * command whose job Redis lost (the sweeper restores it). Null when none knows the id.
 */
export class GetCommandStatus {
  constructor(
    private readonly readModel: ReadModel,
    private readonly jobs: CommandJobs,
  ) {}

  async execute(commandId: string): Promise<CommandStatusDto | null> {
    const [processed, job] = await Promise.all([
      this.readModel.findProcessedCommand(commandId),
      this.jobs.find(commandId),
    ]);
    const status = await this.statusOf(commandId, processed, job);
    const sentBy = processed?.sentBy ?? job?.sentBy ?? null;
    return status && sentBy !== null ? { ...status, sentBy } : status;
  }

  private async statusOf(
    commandId: string,
    processed: ProcessedCommandDto | null,
    job: QueuedCommandState | null,
  ): Promise<CommandStatusDto | null> {
    if (processed) {
      if (processed.status === 'cancelled') {
        // Cancelled before it started: no attempt ran (a copy of its job that was picked up
        // anyway was refused by the unit of work without running).
        return { commandId, type: processed.type, status: 'cancelled', attempts: 0 };
      }
      const base = { commandId, type: processed.type, status: processed.status, attempts: Math.max(job?.attempts ?? 1, 1) };
      return processed.status === 'succeeded'
        ? { ...base, result: processed.result }
        : { ...base, error: processed.error ?? { code: 'failed', message: 'command failed' } };
    }
    if (!job) {
      const scheduled = await this.readModel.findScheduledCommand(commandId);
      return scheduled ? { commandId, type: scheduled.type, status: 'scheduled', attempts: 0, runAt: scheduled.runAt } : null;
    }
    const base = { commandId, type: job.type, status: job.state, attempts: job.attempts };
    if (job.state === 'succeeded') {
      // The outcome is committed before a job completes; a completed job without it means the
      // read replica has not caught up yet.
      return { ...base, status: 'running' };
    }
    if (job.state === 'failed' || job.state === 'gave_up') {
      // Failed without an outcome row: an unreadable payload, or (gave_up) infrastructure
      // errors until the retries ran out.
      return { ...base, error: job.error ?? { code: 'infrastructure_error', message: 'the command could not be processed' } };
    }
    if (job.state === 'scheduled' && job.runAt !== null) return { ...base, runAt: job.runAt };
    return job.waitingFor ? { ...base, waitingFor: job.waitingFor } : base;
  }
}
