import type { Queue } from 'bullmq';
import type { EmailQueue } from '../../application/email/ports.js';
import { EMAIL_JOB_NAME, emailJobOptions, type EmailJobData } from '../../../queues/emails.js';

/**
 * Adds email jobs to the `emails` queue (jobId = email id) for a resend. The finished job of
 * the first send is still held under that id (kept for Bull Board) and would make `add` a
 * no-op, so it is removed first. A job still active (finishing the send that settled the row)
 * cannot be removed; the add is then a no-op and the sweeper, which re-adds the job of a
 * pending row whose job has finished, sends the email on its next pass.
 */
export class BullMqEmailQueue implements EmailQueue {
  constructor(private readonly queue: Queue) {}

  async enqueue(emailId: string): Promise<void> {
    await this.queue.remove(emailId);
    const data: EmailJobData = { emailId };
    await this.queue.add(EMAIL_JOB_NAME, data, { ...emailJobOptions, jobId: emailId });
  }
}
