import type pg from 'pg';
import type { CommandPayload, CommandType, SendOptions, SentBy } from '../../../queues/commands.js';

/** A scheduled command as PostgreSQL keeps it until it has an outcome. */
export interface ScheduledCommandRow {
  commandId: string;
  commandType: string;
  payload: unknown;
  runAt: Date;
  /** The API key that sent it, if one did. */
  sentBy?: SentBy | undefined;
}

/**
 * The `scheduled_commands` table (docs/adr/0008-scheduled-commands-cancellation-live-status.md): the web process writes a
 * row for each command accepted with Run-At, before its delayed job; the sweeper reads the rows
 * that are due soon and have no outcome, and prunes those that have one.
 */
export class PgScheduledCommands {
  constructor(private readonly pool: pg.Pool) {}

  /** Idempotent: the same command id again (a retry with its Idempotency-Key) keeps the first row. */
  async record(type: CommandType, payload: CommandPayload, runAt: Date, sentBy?: SentBy): Promise<void> {
    await this.pool.query(
      `insert into scheduled_commands (command_id, command_type, payload, run_at, created_at, sent_by_key_id, sent_by)
       values ($1, $2, $3::jsonb, $4, now(), $5, $6) on conflict (command_id) do nothing`,
      [payload.commandId, type, JSON.stringify(payload), runAt, sentBy?.keyId ?? null, sentBy?.name ?? null],
    );
  }

  async forget(commandId: string): Promise<void> {
    await this.pool.query('delete from scheduled_commands where command_id = $1', [commandId]);
  }

  /**
   * Rows without an outcome that are due within `aheadMs` (or overdue by at most `behindMs`),
   * older than `graceMs` (younger ones may still be getting their job from the web process),
   * soonest first.
   */
  async dueWithoutOutcome(options: { aheadMs: number; behindMs: number; graceMs: number; limit: number }): Promise<ScheduledCommandRow[]> {
    const { rows } = await this.pool.query<{
      command_id: string;
      command_type: string;
      payload: unknown;
      run_at: Date;
      sent_by_key_id: string | null;
      sent_by: string | null;
    }>(
      `select s.command_id, s.command_type, s.payload, s.run_at, s.sent_by_key_id, s.sent_by from scheduled_commands s
        where s.run_at < now() + make_interval(secs => $1::double precision / 1000)
          and s.run_at > now() - make_interval(secs => $2::double precision / 1000)
          and s.created_at < now() - make_interval(secs => $3::double precision / 1000)
          and not exists (select 1 from processed_commands p where p.command_id = s.command_id)
        order by s.run_at limit $4`,
      [options.aheadMs, options.behindMs, options.graceMs, options.limit],
    );
    return rows.map((row) => ({
      commandId: row.command_id,
      commandType: row.command_type,
      payload: row.payload,
      runAt: row.run_at,
      sentBy: row.sent_by_key_id !== null && row.sent_by !== null ? { keyId: row.sent_by_key_id, name: row.sent_by } : undefined,
    }));
  }

  /** Deletes the rows of commands that have an outcome (ran, failed, or were cancelled); returns how many. */
  async pruneSettled(limit = 1000): Promise<number> {
    const result = await this.pool.query(
      `delete from scheduled_commands where command_id in (
         select s.command_id from scheduled_commands s join processed_commands p on p.command_id = s.command_id limit $1)`,
      [limit],
    );
    return result.rowCount ?? 0;
  }
}

/** What actually puts a command on the queue (BullMqCommandSender). */
interface QueueSender {
  send(type: CommandType, payload: CommandPayload, options?: SendOptions): Promise<void>;
}

/**
 * The web process's command sender: a command without Run-At goes to the queue only (intake
 * needs Redis alone, as before); a scheduled one is first written to PostgreSQL, then queued as
 * a delayed job. If the queue refuses it, the row is deleted again (best effort), so that the
 * sweeper does not run a command the client was answered 503 for.
 */
export class DurablyScheduledCommandSender {
  constructor(
    private readonly queue: QueueSender,
    private readonly scheduled: PgScheduledCommands,
  ) {}

  async send(type: CommandType, payload: CommandPayload, options: SendOptions = {}): Promise<void> {
    if (!options.runAt) return this.queue.send(type, payload, options);
    await this.scheduled.record(type, payload, options.runAt, options.sentBy);
    try {
      await this.queue.send(type, payload, options);
    } catch (error) {
      await this.scheduled.forget(payload.commandId).catch(() => undefined);
      throw error;
    }
  }
}
