import type pg from 'pg';
import type {
  ClaimResult,
  ClaimedEmail,
  EmailOutcomeRecorder,
  EmailStore,
  ReopenResult,
  SkipReason,
} from '../../application/email/ports.js';
import { inOrder } from '../persistence/pipelining-pool.js';
import { preparedStatement, staleStatement } from '../persistence/prepared-statement.js';
import { isUuid } from '../persistence/columns.js';


/** The one row of CLAIM: the claimed email's columns, all null unless it was claimed. */
interface ClaimRow {
  id: string | null;
  event_id: string;
  template: string;
  to_address: string;
  message_id: string;
  attempts: number;
  event_type: string | null;
  payload: unknown;
  recipient_name: string | null;
  /** The row's status as the claim saw it; null when there is no such row. */
  current_status: string | null;
}

// `FOR UPDATE OF m SKIP LOCKED`: two jobs for one row (a job restored by the sweeper while the
// first still runs) never send it twice at once; the second sees the row locked and stops.
// The user lookup guards its cast, so an odd payload cannot fail the query. The statement
// always answers one row: with the row's current status too, so a job that cannot claim the
// email learns why in the same round trip.
const CLAIM = preparedStatement(`
  with claimed as (
    select m.id, m.event_id, m.template, m.to_address, m.message_id, m.attempts,
           o.type as event_type, o.payload, u.name as recipient_name
      from email_messages m
      left join outbox_messages o on o.id = m.event_id
      left join users u on u.id = case
        when o.payload->>'userId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        then (o.payload->>'userId')::uuid end
     where m.id = $1 and m.status = 'pending'
       for update of m skip locked
  )
  select c.id, c.event_id, c.template, c.to_address, c.message_id, c.attempts,
         c.event_type, c.payload, c.recipient_name, s.status as current_status
    from (select $1::uuid as id) k
    left join email_messages s on s.id = k.id
    left join claimed c on true`);

const MAX_RESPONSE_LENGTH = 2000;
const clip = (text: string) => (text.length > MAX_RESPONSE_LENGTH ? text.slice(0, MAX_RESPONSE_LENGTH) : text);
/** RFC 5322's line limit, the column's width. */
const MAX_SUBJECT_LENGTH = 998;
const clipSubject = (text: string) => (text.length > MAX_SUBJECT_LENGTH ? text.slice(0, MAX_SUBJECT_LENGTH) : text);

// One statement: the row is reopened only if it is settled, and the answer says what it was
// otherwise. A row a sending job holds is pending, so it is never reopened under that job.
const REOPEN = preparedStatement(`
  with reopened as (
    update email_messages set status = 'pending', next_attempt_at = null, finished_at = null
     where id = $1 and status in ('sent', 'failed')
    returning id
  )
  select (select count(*)::int from reopened) as reopened,
         (select status from email_messages where id = $1) as status`);

// The outcomes: the last statement of the claim's transaction, prepared as the claim is.
const SENT = preparedStatement(
  `update email_messages set status = 'sent', sent_at = now(), finished_at = now(), attempts = attempts + 1,
          last_response = $1, subject = $2, next_attempt_at = null where id = $3`,
);
const RETRY = preparedStatement(
  `update email_messages set attempts = attempts + 1, last_response = $1, subject = $2,
          next_attempt_at = now() + make_interval(secs => $3::double precision / 1000) where id = $4`,
);
const FAILED = preparedStatement(
  `update email_messages set status = 'failed', finished_at = now(), attempts = attempts + $1::int,
          last_response = $2, subject = coalesce($3, subject), next_attempt_at = null where id = $4`,
);

/**
 * email_messages through plain SQL on a client of the process's pg pool (no ORM: these rows
 * are records of infrastructure work, not aggregates). A claimed email costs four statements:
 * BEGIN, the claim, the outcome, COMMIT; one that cannot be claimed, three. On a pipelining
 * pool (pg's `pipeline: true`, the mailer's) BEGIN goes out with the claim and the outcome with
 * COMMIT: two round trips either way, where each round trip was a good part of the mailer's
 * CPU (the socket write and the wake-up of a loopback peer are charged to the writer). The
 * claim and the outcomes are prepared statements: PostgreSQL plans them once per connection.
 *
 * The row stays locked while the message is sent, which holds one pooled connection per
 * sending job; the mailer's timeouts bound how long.
 */
export class SqlEmailMessageStore implements EmailStore {
  constructor(private readonly pool: pg.Pool) {}

  async withPendingEmail<T>(
    emailId: string,
    attempt: (email: ClaimedEmail, record: EmailOutcomeRecorder) => Promise<T>,
  ): Promise<ClaimResult<T>> {
    const client = await this.pool.connect();
    // Set when the connection may be unusable: the pool then discards it instead of reusing it.
    let broken: Error | undefined;
    const transaction = { committed: false };
    try {
      const result = await this.claimAndAttempt(client, emailId, attempt, transaction);
      if (!transaction.committed) await client.query(result.claimed ? 'commit' : 'rollback');
      return result;
    } catch (error) {
      if (staleStatement(error)) broken = error;
      await client.query('rollback').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async reopen(emailId: string): Promise<ReopenResult> {
    if (!isUuid(emailId)) return 'missing';
    const {
      rows: [row],
    } = await this.pool.query<{ reopened: number; status: string | null }>(REOPEN.with([emailId]));
    if (row && row.reopened > 0) return 'reopened';
    return row?.status ? 'pending' : 'missing';
  }

  private async claimAndAttempt<T>(
    client: pg.PoolClient,
    emailId: string,
    attempt: (email: ClaimedEmail, record: EmailOutcomeRecorder) => Promise<T>,
    transaction: { committed: boolean },
  ): Promise<ClaimResult<T>> {
    const [, claim] = await inOrder(client, 'begin', CLAIM.with([emailId]));
    const [row] = (claim?.rows ?? []) as ClaimRow[];
    if (!row || row.id === null) {
      // Not claimable: say why, for the log.
      const status = row?.current_status ?? null;
      const reason: SkipReason =
        status === null ? 'missing' : status === 'sent' || status === 'failed' ? status : 'locked';
      return { claimed: false, reason };
    }
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
    // The outcome is the transaction's last statement: it goes out with the COMMIT. Should it
    // fail, the COMMIT of the aborted transaction rolls back and the error is thrown as before.
    const recordAndCommit = async (outcome: pg.QueryConfig) => {
      if (transaction.committed) throw new Error(`the outcome of email ${emailId} is already recorded`);
      transaction.committed = true;
      await inOrder(client, outcome, 'commit');
    };
    const record: EmailOutcomeRecorder = {
      sent: (response, subject) => recordAndCommit(SENT.with([clip(response), clipSubject(subject), emailId])),
      retry: (response, retryInMs, subject) =>
        recordAndCommit(RETRY.with([clip(response), clipSubject(subject), retryInMs, emailId])),
      failed: (response, subject) =>
        recordAndCommit(
          FAILED.with([subject === null ? 0 : 1, clip(response), subject === null ? null : clipSubject(subject), emailId]),
        ),
    };
    return { claimed: true, value: await attempt(email, record) };
  }
}
