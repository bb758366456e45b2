import type {
  ClaimResult,
  ClaimedEmail,
  EmailOutcomeRecorder,
  EmailStore,
  Mailer,
  OutgoingEmail,
  ReopenResult,
  SendResult,
} from '../../../../src/application/email/ports.js';

export const emailId = '01936a5e-7c1d-7000-8000-000000000001';

export interface EmailRow extends ClaimedEmail {
  status: 'pending' | 'sent' | 'failed';
  lastResponse: string | null;
  /** The delay recorded with the last retry. */
  retryInMs: number | null;
  /** The subject of the last attempt. */
  subject: string | null;
}

/** email_messages in memory, with the same claim rules as the SQL store. */
export class InMemoryEmailStore implements EmailStore {
  readonly rows = new Map<string, EmailRow>();
  /** Another job holds every row. */
  locked = false;

  add(overrides: Partial<EmailRow> = {}): EmailRow {
    const row: EmailRow = {
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
      subject: null,
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
      sent: async (response, subject) => {
        Object.assign(row, { status: 'sent', attempts: row.attempts + 1, lastResponse: response, subject });
      },
      retry: async (response, retryInMs, subject) => {
        Object.assign(row, { attempts: row.attempts + 1, lastResponse: response, retryInMs, subject });
      },
      failed: async (response, subject) => {
        Object.assign(row, {
          status: 'failed',
          attempts: row.attempts + (subject === null ? 0 : 1),
          lastResponse: response,
          subject: subject ?? row.subject,
        });
      },
    };
    return { claimed: true, value: await attempt({ ...row }, record) };
  }

  async reopen(id: string): Promise<ReopenResult> {
    const row = this.rows.get(id);
    if (!row) return 'missing';
    if (row.status === 'pending') return 'pending';
    Object.assign(row, { status: 'pending', retryInMs: null });
    return 'reopened';
  }
}

/** Keeps what it is asked to send and answers `answer` (accepted by default). */
export class RecordingMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  constructor(private readonly answer: SendResult = { status: 'accepted', response: '250 2.0.0 Ok: queued' }) {}
  async send(email: OutgoingEmail): Promise<SendResult> {
    this.sent.push(email);
    return this.answer;
  }
  async close(): Promise<void> {}
}
