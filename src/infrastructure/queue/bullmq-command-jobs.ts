import type { Queue } from 'bullmq';
import type { CommandJobs, QueuedCommandState } from '../../application/queries/read-model.js';

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
export class BullMqCommandJobs implements CommandJobs {
  constructor(private readonly queue: Queue) {}

  async find(commandId: string): Promise<QueuedCommandState | null> {
    const job = await this.queue.getJob(commandId);
    if (!job) return null;
    // 'unknown' means the job was removed between the two reads.
    const state = STATES[await job.getState()];
    if (!state) return null;
    return {
      commandId,
      type: job.name,
      state,
      // attemptsMade counts only failed attempts (a job that succeeded first time has 0);
      // attemptsStarted counts the running and the successful one too.
      attempts: Math.max(job.attemptsMade, job.attemptsStarted ?? 0),
      failedReason: job.failedReason ?? null,
    };
  }
}
