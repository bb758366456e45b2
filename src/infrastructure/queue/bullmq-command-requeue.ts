import type { Job, Queue } from 'bullmq';
import type { CommandRequeue, GaveUpCommandRecord } from '../../application/commerce/triage/ports.js';

/**
 * Puts commands that gave up back on the `commands` queue (built by `createQueue`, so a new job
 * gets the contract's options and COMMAND_ATTEMPTS), always under the command id as the job id:
 * - the failed job, if Redis still has it, is retried in place with its attempts counted from
 *   zero (otherwise its next failure would be its last);
 * - without a job (removed after its retention, or Redis lost it), a new one is added from the
 *   stored payload; its `after` still orders it behind its predecessor (ADR 0006);
 * - a job that is waiting, delayed, running or completed is left alone: the command is on its
 *   way, or done.
 */
export class BullMqCommandRequeue implements CommandRequeue {
  constructor(private readonly queue: Queue) {}

  async requeue(command: GaveUpCommandRecord): Promise<boolean> {
    const job = await this.queue.getJob(command.commandId);
    if (!job) {
      await this.queue.add(command.type, command.payload, { jobId: command.commandId });
      return true;
    }
    if ((await job.getState()) !== 'failed') return false;
    try {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    } catch (error) {
      // Not in the failed set any more: another retry took it first.
      if (await stillFailed(job)) throw error;
      return false;
    }
  }

  async canRequeue(command: GaveUpCommandRecord): Promise<boolean> {
    const job = await this.queue.getJob(command.commandId);
    return !job || (await job.getState()) === 'failed';
  }
}

async function stillFailed(job: Job): Promise<boolean> {
  return (await job.getState()) === 'failed';
}
