import type { MikroORM } from '../persistence/mikro-orm.js';

/** A pending email, locked for its sender, with the event it is rendered from. */
export interface ClaimedEmail {
  id: string;
  eventId: string;
  template: string;
  toAddress: string;
  messageId: string;
  /** Attempts made before this one. */
  attempts: number;
  /** The outbox event; null when that row is gone. */
  event: { type: string; payload: unknown } | null;
  /** Name of the user the event concerns, for the greeting; null when unknown. */
  recipientName: string | null;
}

/** Records the outcome of the attempt on the claimed row, in the claiming transaction. */
export interface EmailOutcomeRecorder {
  /** Accepted by the server: status sent, attempt counted. */
  sent(response: string): Promise<void>;
  /** Will be tried again: attempt counted, next_attempt_at = now + `retryInMs`. */
  retry(response: string, retryInMs: number): Promise<void>;
  /** Given up for good. `attempted` is false when nothing was sent (the email could not be rendered). */
  failed(response: string, attempted: boolean): Promise<void>;
}

/** Why no attempt was made. */
export type SkipReason = 'missing' | 'sent' | 'failed' | 'locked';

export type ClaimResult<T> = { claimed: true; value: T } | { claimed: false; reason: SkipReason };

export interface EmailMessageStore {
  /**
   * Runs `attempt` on the email if it is still pending and no other worker holds it, inside a
   * transaction that keeps the row locked until the outcome is recorded; otherwise says why
   * not, without calling it.
   */
  withPendingEmail<T>(
    emailId: string,
    attempt: (email: ClaimedEmail, record: EmailOutcomeRecorder) => Promise<T>,
  ): Promise<ClaimResult<T>>;
}

interface ClaimRow {
  id: string;
  event_id: string;
  template: string;
  to_address: string;
  message_id: string;
  attempts: number;
  event_type: string | null;
  payload: unknown;
  recipient_name: string | null;
}

// `FOR UPDATE OF m SKIP LOCKED`: two jobs for one row (a job restored by the sweeper while the
// first still runs) never send it twice at once; the second sees the row locked and stops.
// The user lookup guards its cast, so an odd payload cannot fail the query.
const CLAIM_SQL = `
  select m.id, m.event_id, m.template, m.to_address, m.message_id, m.attempts,
         o.type as event_type, o.payload, u.name as recipient_name
    from email_messages m
    left join outbox_messages o on o.id = m.event_id
    left join users u on u.id = case
      when o.payload->>'userId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      then (o.payload->>'userId')::uuid end
   where m.id = ? and m.status = 'pending'
     for update of m skip locked`;

const MAX_RESPONSE_LENGTH = 2000;
const clip = (text: string) => (text.length > MAX_RESPONSE_LENGTH ? text.slice(0, MAX_RESPONSE_LENGTH) : text);

/**
 * email_messages through plain SQL on MikroORM's connection pool (no entity manager: these
 * rows are records of infrastructure work, not aggregates).
 *
 * The row stays locked while the message is sent, which holds one pooled connection per
 * sending job; the mailer's timeouts bound how long.
 */
export class SqlEmailMessageStore implements EmailMessageStore {
  constructor(private readonly orm: MikroORM) {}

  async withPendingEmail<T>(
    emailId: string,
    attempt: (email: ClaimedEmail, record: EmailOutcomeRecorder) => Promise<T>,
  ): Promise<ClaimResult<T>> {
    const connection = this.orm.em.getConnection();
    const result = await connection.transactional(async (trx): Promise<ClaimResult<T>> => {
      const exec = (sql: string, params: unknown[]) => connection.execute<ClaimRow[]>(sql, params, 'all', trx);
      const [row] = await exec(CLAIM_SQL, [emailId]);
      if (!row) return { claimed: false, reason: 'missing' };
      const email: ClaimedEmail = {
        id: row.id,
        eventId: row.event_id,
        template: row.template,
        toAddress: row.to_address,
        messageId: row.message_id,
        attempts: row.attempts,
        event: row.event_type === null ? null : { type: row.event_type, payload: row.payload },
        recipientName: row.recipient_name,
      };
      const record: EmailOutcomeRecorder = {
        sent: async (response) => {
          await exec(
            `update email_messages set status = 'sent', sent_at = now(), attempts = attempts + 1,
                    last_response = ?, next_attempt_at = null where id = ?`,
            [clip(response), emailId],
          );
        },
        retry: async (response, retryInMs) => {
          await exec(
            `update email_messages set attempts = attempts + 1, last_response = ?,
                    next_attempt_at = now() + make_interval(secs => ?::double precision / 1000) where id = ?`,
            [clip(response), retryInMs, emailId],
          );
        },
        failed: async (response, attempted) => {
          await exec(
            `update email_messages set status = 'failed', attempts = attempts + ?, last_response = ?,
                    next_attempt_at = null where id = ?`,
            [attempted ? 1 : 0, clip(response), emailId],
          );
        },
      };
      return { claimed: true, value: await attempt(email, record) };
    });
    if (result.claimed || result.reason !== 'missing') return result;
    // Not claimable: say why, for the log (outside the transaction, nothing to lock).
    const [current] = await connection.execute<{ status: string }[]>('select status from email_messages where id = ?', [emailId]);
    if (!current) return result;
    const reason: SkipReason = current.status === 'sent' || current.status === 'failed' ? current.status : 'locked';
    return { claimed: false, reason };
  }
}
