import type { Job, Queue } from 'bullmq';
import type { CommandQueue, QueuedCommandFields } from '../../application/commerce/ports/command-control.js';
import type { CommandJobs, QueuedCommandState } from '../../application/commerce/queries/read-model.js';
import { splitJobData } from '../../../queues/commands.js';
import { decodeFailure } from '../../../queues/failure.js';
import { hasGivenUp } from '../triage/gave-up-commands.js';
import type { RedisConnection } from '../redis/connection.js';
import { isWaitingProgress, wakeWaiters } from './bullmq-command-ordering.js';

const STATES: Record<string, QueuedCommandState['state'] | undefined> = {
  waiting: 'queued',
  delayed: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  active: 'running',
  completed: 'succeeded',
  failed: 'failed',
};

/** What the `commands` queue knows about a command (its job id is the command id). */
export class BullMqCommandJobs implements CommandJobs, CommandQueue {
  constructor(
    private readonly queue: Queue,
    /** The connection the ordering's scripts run on (the web's producer connection). */
    private readonly redis: RedisConnection,
  ) {}

  async find(commandId: string): Promise<QueuedCommandState | null> {
    const read = await this.consistentRead(commandId);
    if (!read) return null;
    const { jobState, state, job } = read;
    // attemptsMade counts only failed attempts (a job that succeeded first time has 0);
    // attemptsStarted counts the running and the successful one too.
    const attempts = Math.max(job.attemptsMade, job.attemptsStarted ?? 0);
    // A delayed job that never started waits for its Run-At; one that did waits for a retry.
    // (A job parked behind its predecessor, ADR 0006, is delayed too, but queued: it waits for that.)
    const scheduled = jobState === 'delayed' && attempts === 0 && !isWaitingProgress(job.progress);
    return {
      commandId,
      type: job.name,
      state: scheduled ? 'scheduled' : state === 'failed' && hasGivenUp(job) ? 'gave_up' : state,
      attempts,
      runAt: scheduled ? dueAt(job) : null,
      error: job.failedReason ? errorOf(job.failedReason) : null,
      // A job parked behind its predecessor is delayed with the predecessor in its progress.
      waitingFor: state === 'queued' && isWaitingProgress(job.progress) ? job.progress.waitingFor : null,
      sentBy: sentByName(job.data),
    };
  }

  /**
   * The job's state and fields, read so that they belong together: the state, the job, then the
   * state again, and again from the job when the two states differ (three jobs at most). Read
   * once, a job a worker took between the two reads showed as queued with the attempt it had
   * just started already counted.
   */
  private async consistentRead(commandId: string): Promise<{ jobState: string; state: QueuedCommandState['state']; job: Job } | null> {
    let jobState = await this.queue.getJobState(commandId);
    for (let read = 1; ; read += 1) {
      const state = STATES[jobState];
      if (!state) return null; // 'unknown': no such job (or removed)
      const job = await this.queue.getJob(commandId);
      if (!job) return null;
      // Still moving after three reads: the job under the state read just before it, a state
      // that was true a moment ago (never fields older than the state).
      if (read === 3) return { jobState, state, job };
      const after = await this.queue.getJobState(commandId);
      if (after === jobState) return { jobState, state, job };
      jobState = after;
    }
  }

  /** BullMQ refuses to remove a job a worker holds (locked): 0, false here; 1 otherwise, job or not. */
  async remove(commandId: string): Promise<boolean> {
    return (await this.queue.remove(commandId)) === 1;
  }

  async fieldsOf(commandId: string): Promise<QueuedCommandFields> {
    const job = await this.queue.getJob(commandId);
    if (!job) return {};
    const { fields } = splitJobData(job.data);
    return fields.success ? { after: fields.data.after, sentBy: fields.data.sentBy } : {};
  }

  async wakeSuccessors(commandId: string): Promise<void> {
    await wakeWaiters(this.redis, this.queue, commandId);
  }
}

/** When a delayed job is due: added at `timestamp`, `delay` ms later. */
function dueAt(job: Job): string {
  return new Date(job.timestamp + (job.delay ?? 0)).toISOString();
}

/**
 * A failure the command worker encoded (a payload it refused), or else an error of
 * infrastructure whose own message BullMQ kept (the retries ran out).
 */
function errorOf(failedReason: string): { code: string; message: string } {
  return decodeFailure(failedReason) ?? { code: 'infrastructure_error', message: failedReason };
}

/** The name of the key that sent the command, as the intake wrote it in the job's data. */
function sentByName(data: unknown): string | null {
  const fields = splitJobData(data).fields;
  return fields.success ? (fields.data.sentBy?.name ?? null) : null;
}
