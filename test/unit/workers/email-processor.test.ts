import { UnrecoverableError, type Job } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SendEmailInput, SendEmailOutput } from '../../../src/application/email/send-email.js';
import { emailJobOptions } from '../../../queues/emails.js';
import { createEmailProcessor, type EmailOutcome } from '../../../workers/email-processor.js';
import { processorOver } from '../support/processor.js';

const emailId = '01936a5e-7c1d-7000-8000-000000000001';
const claimed = { eventId: 'event-1', template: 'welcome' };

function job(attemptsMade = 0, data: unknown = { emailId }): Job {
  return { id: emailId, data, attemptsMade, opts: { attempts: emailJobOptions.attempts } } as unknown as Job;
}

/** The processor over a use case that answers `output`, remembering what it was asked and counted. */
const setup = (output: SendEmailOutput) =>
  processorOver<SendEmailInput, SendEmailOutput, EmailOutcome, ReturnType<typeof createEmailProcessor>>(output, (sendEmail, countEmail) =>
    createEmailProcessor(sendEmail, pino({ level: 'silent' }), { countEmail }),
  );

describe('email processor', () => {
  it.each<[string, SendEmailOutput, unknown]>([
    ['sent', { outcome: 'sent', response: '250 ok', ...claimed }, { status: 'sent', response: '250 ok' }],
    ['a duplicate', { outcome: 'skipped', reason: 'sent' }, { status: 'skipped', reason: 'sent' }],
  ])('completes the job when the email was %s', async (_, output, result) => {
    const { process, counted } = setup(output);
    await expect(process(job())).resolves.toEqual(result);
    expect(counted).toEqual([output.outcome]);
  });

  it.each<[string, SendEmailOutput, string]>([
    ['rejected by the server', { outcome: 'rejected', response: '550 5.1.1 No such user', ...claimed }, 'smtp_rejected: 550 5.1.1 No such user'],
    ['unrenderable', { outcome: 'unrenderable', reason: 'render_failed: welcome: x', ...claimed }, 'render_failed: welcome: x'],
  ])('fails the job for good when the email is %s', async (_, output, message) => {
    const { process } = setup(output);
    const error: unknown = await process(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe(message);
  });

  it.each<[string, SendEmailOutput]>([
    ['will be retried', { outcome: 'retry', response: '451 4.7.1 Greylisted', retryInMs: 8000, ...claimed }],
    ['failed on its last attempt', { outcome: 'failed', response: '451 4.7.1 Greylisted', ...claimed }],
  ])('throws a retryable error when a temporary failure %s', async (_, output) => {
    const { process } = setup(output);
    const error: unknown = await process(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('smtp_temporary: 451 4.7.1 Greylisted');
  });

  it("asks for a retry within the longest backoff BullMQ can choose, and none on the job's last attempt", async () => {
    const { process, inputs } = setup({ outcome: 'sent', response: '250 ok', ...claimed });
    await process(job(0));
    // Third attempt: BullMQ waits at most 2^2 * 2 s before the fourth.
    await process(job(2));
    await process(job(emailJobOptions.attempts - 1));
    expect(inputs).toEqual([
      { emailId, retryInMs: 2000 },
      { emailId, retryInMs: 8000 },
      { emailId, retryInMs: null },
    ]);
  });

  it('rejects a job without a valid email id without retrying, and without sending', async () => {
    const { process, inputs } = setup({ outcome: 'sent', response: '250 ok', ...claimed });
    await expect(process(job(0, { emailId: 'nope' }))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(inputs).toEqual([]);
  });
});
