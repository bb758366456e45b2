import type pg from 'pg';
import type {
  EmailLog,
  EmailLogEntry,
  EmailLogFilter,
  EmailLogPosition,
  EmailStatus,
} from '../../application/email/ports.js';

interface EmailRow {
  id: string;
  event_id: string;
  message_id: string;
  template: string;
  to_address: string;
  subject: string | null;
  status: EmailStatus;
  attempts: number;
  last_response: string | null;
  created_at: Date;
  sent_at: Date | null;
  finished_at: Date | null;
  next_attempt_at: Date | null;
}

/**
 * The operator's listing of email_messages, on the query side's pool (a replica when
 * DATABASE_READ_URL is set). Newest first by (created_at, id); a page continues strictly below
 * the previous page's last key, so one index range scan serves it: (created_at, id) alone,
 * (status, created_at, id) or (to_address, created_at, id) with a filter. Bodies are never
 * stored, so none can be listed.
 */
export class PgEmailLog implements EmailLog {
  constructor(private readonly pool: pg.Pool) {}

  async list(filter: EmailLogFilter, after: EmailLogPosition | null, limit: number): Promise<EmailLogEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
    if (filter.to !== undefined) where.push(`to_address = ${param(filter.to)}`);
    if (filter.since !== undefined) where.push(`created_at >= ${param(filter.since)}`);
    if (after) where.push(`(created_at, id) < (${param(after.createdAt)}, ${param(after.id)}::uuid)`);
    const { rows } = await this.pool.query<EmailRow>(
      `select id, event_id, message_id, template, to_address, subject, status, attempts, last_response,
              created_at, sent_at, finished_at, next_attempt_at
         from email_messages
        ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
        order by created_at desc, id desc
        limit ${param(limit)}`,
      params,
    );
    return rows.map((row) => ({
      id: row.id,
      eventId: row.event_id,
      messageId: row.message_id,
      template: row.template,
      to: row.to_address,
      subject: row.subject,
      status: row.status,
      attempts: row.attempts,
      lastResponse: row.last_response,
      createdAt: row.created_at,
      sentAt: row.sent_at,
      finishedAt: row.finished_at,
      nextAttemptAt: row.next_attempt_at,
    }));
  }
}
