import { UnrecoverableError, type Job } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type {
  ClaimResult,
  ClaimedEmail,
  EmailMessageStore,
  EmailOutcomeRecorder,
} from '../../../src/infrastructure/mail/email-message-store.js';
import type { Mailer, OutgoingEmail, SentEmail } from '../../../src/infrastructure/mail/mailer.js';
import { emailJobOptions } from '../../../queues/emails.js';
import { createEmailProcessor } from '../../../workers/email-processor.js';

const emailId = '01936a5e-7c1d-7000-8000-000000000001';

interface Row extends ClaimedEmail {
  status: 'pending' | 'sent' | 'failed';
  lastResponse: string | null;
  retryInMs: number | null;
}

/** email_messages in memory, with the same claim rules as the SQL store. */
class FakeStore implements EmailMessageStore {
  readonly rows = new Map<string, Row>();
  locked = false;

  add(overrides: Partial<Row> = {}): Row {
    const row: Row = {
      id: emailId,
      eventId: 'event-1',
      template: 'welcome',
      toAddress: 'ann@example.com',
      messageId: `<${emailId}@conveyor.local>`,
      attempts: 0,
      event: { type: 'user.registered', payload: { userId: 'u1', email: 'ann@example.com', name: 'Ann' } },
      recipientName: 'Ann',
      status: 'pending',
      lastResponse: null,
      retryInMs: null,
      ...overrides,
    };
    this.rows.set(row.id, row);
    return row;
  }

  async withPendingEmail<T>(
    id: string,
    attempt: (email: ClaimedEmail, record: EmailOutcomeRecorder) => Promise<T>,
  ): Promise<ClaimResult<T>> {
    const row = this.rows.get(id);
    if (!row) return { claimed: false, reason: 'missing' };
    if (row.status !== 'pending') return { claimed: false, reason: row.status };
    if (this.locked) return { claimed: false, reason: 'locked' };
    const record: EmailOutcomeRecorder = {
      sent: async (response) => {
        Object.assign(row, { status: 'sent', attempts: row.attempts + 1, lastResponse: response });
      },
      retry: async (response, retryInMs) => {
        Object.assign(row, { attempts: row.attempts + 1, lastResponse: response, retryInMs });
      },
      failed: async (response, attempted) => {
        Object.assign(row, { status: 'failed', attempts: row.attempts + (attempted ? 1 : 0), lastResponse: response });
      },
    };
    return { claimed: true, value: await attempt({ ...row }, record) };
  }
}

class FakeMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  constructor(private readonly answer: () => Promise<SentEmail> = async () => ({ response: '250 2.0.0 Ok: queued' })) {}
  async send(email: OutgoingEmail): Promise<SentEmail> {
    this.sent.push(email);
    return this.answer();
  }
  async close(): Promise<void> {}
}

const smtpError = (code: string, responseCode: number, response: string) =>
  Object.assign(new Error(response), { code, responseCode, response });

function job(attemptsMade = 0, data: unknown = { emailId }): Job {
  return { id: emailId, data, attemptsMade, opts: { attempts: emailJobOptions.attempts } } as unknown as Job;
}

function setup(answer?: () => Promise<SentEmail>) {
  const store = new FakeStore();
  const mailer = new FakeMailer(answer);
  const process = createEmailProcessor({ store, mailer, logger: pino({ level: 'silent' }) });
  return { store, mailer, process };
}

describe('email processor', () => {
  it('sends a pending email with its Message-ID and records it as sent', async () => {
    const { store, mailer, process } = setup();
    const row = store.add();
    await expect(process(job())).resolves.toEqual({ status: 'sent', response: '250 2.0.0 Ok: queued' });
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]).toMatchObject({
      emailId,
      messageId: row.messageId,
      to: 'ann@example.com',
      subject: 'Welcome to conveyor, Ann',
    });
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lastResponse: '250 2.0.0 Ok: queued' });
  });

  it.each(['sent', 'failed'] as const)('does nothing for a row already %s (a duplicate job)', async (status) => {
    const { store, mailer, process } = setup();
    store.add({ status, attempts: 1 });
    await expect(process(job())).resolves.toEqual({ status: 'skipped', reason: status });
    expect(mailer.sent).toHaveLength(0);
  });

  it('does nothing for a missing row or one another job is sending', async () => {
    const { store, mailer, process } = setup();
    await expect(process(job())).resolves.toEqual({ status: 'skipped', reason: 'missing' });
    store.add();
    store.locked = true;
    await expect(process(job())).resolves.toEqual({ status: 'skipped', reason: 'locked' });
    expect(mailer.sent).toHaveLength(0);
  });

  it('records a temporary failure and throws a retryable error', async () => {
    const { store, process } = setup(async () => {
      throw smtpError('EENVELOPE', 451, '451 4.7.1 Greylisted');
    });
    const row = store.add();
    const error: unknown = await process(job(2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('smtp_temporary: 451 4.7.1 Greylisted');
    // Third attempt failed: BullMQ waits at most 2^2 * 2 s before the fourth.
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastResponse: '451 4.7.1 Greylisted', retryInMs: 8000 });
  });

  it('marks the row failed when the last attempt fails temporarily', async () => {
    const { store, process } = setup(async () => {
      throw Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' });
    });
    const row = store.add({ attempts: emailJobOptions.attempts - 1 });
    await expect(process(job(emailJobOptions.attempts - 1))).rejects.toThrow(/^smtp_temporary: ECONNECTION/);
    expect(row).toMatchObject({ status: 'failed', attempts: emailJobOptions.attempts });
  });

  it('marks a permanent rejection failed at once and fails the job without retry', async () => {
    const { store, process } = setup(async () => {
      throw smtpError('EENVELOPE', 550, '550 5.1.1 No such user');
    });
    const row = store.add();
    const error: unknown = await process(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe('smtp_rejected: 550 5.1.1 No such user');
    expect(row).toMatchObject({ status: 'failed', attempts: 1, lastResponse: '550 5.1.1 No such user' });
  });

  it('fails an email whose event cannot be rendered, without sending or counting an attempt', async () => {
    const { store, mailer, process } = setup();
    const row = store.add({ template: 'order_confirmation', event: { type: 'order.placed', payload: { orderId: 'x' } } });
    await expect(process(job())).rejects.toBeInstanceOf(UnrecoverableError);
    expect(mailer.sent).toHaveLength(0);
    expect(row.status).toBe('failed');
    expect(row.attempts).toBe(0);
    expect(row.lastResponse).toMatch(/^render_failed: order_confirmation: /);
  });

  it('fails an email whose outbox event is gone', async () => {
    const { store, process } = setup();
    const row = store.add({ event: null });
    await expect(process(job())).rejects.toThrow(/render_failed: .*outbox event event-1 not found/);
    expect(row.status).toBe('failed');
  });

  it('rejects a job without a valid email id without retrying', async () => {
    const { process } = setup();
    await expect(process(job(0, { emailId: 'nope' }))).rejects.toBeInstanceOf(UnrecoverableError);
  });
});
