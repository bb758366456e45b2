import type { CommandJobs, ReadModel } from './read-model.js';

export interface CommandStatusDto {
  commandId: string;
  type: string;
  /** `failed` is final (a domain error, or a refused payload); `gave_up` ran out of retries on infrastructure errors and can be retried. */
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'gave_up';
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string };
  /** Queued behind this earlier command on the same order, user or product. */
  waitingFor?: string;
}

/**
 * The status of a command: the durable outcome from processed_commands when it has one,
 * otherwise the state of its job in the queue (queued, running, or failed by infrastructure
 * after all retries). Null when neither knows the id.
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
    if (processed) {
      const base = { commandId, type: processed.type, status: processed.status, attempts: Math.max(job?.attempts ?? 1, 1) };
      return processed.status === 'succeeded'
        ? { ...base, result: processed.result }
        : { ...base, error: processed.error ?? { code: 'failed', message: 'command failed' } };
    }
    if (!job) return null;
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
    return job.waitingFor ? { ...base, waitingFor: job.waitingFor } : base;
  }
}
