import type pg from 'pg';
import type { CommandOutcome, CommandOutcomes, QueuedCommandFields } from '../../application/commerce/ports/command-control.js';

// The cancel takes the processed_commands primary key unless a row holds it. The unit of work
// writes the same key in the transaction that applies the command, so the two cannot both win:
// a worker that commits after the cancel fails on the key and is rolled back (as it would lose
// to a redelivery that committed first); a cancel that comes second inserts nothing.
// A cancelled command's `result` names the command it was waiting for on its aggregate, if any:
// the unit of work's gate follows it (docs/adr/0006-per-aggregate-ordering.md).
const INSERT_CANCELLED = `insert into processed_commands (command_id, command_type, status, result, error, processed_at, sent_by_key_id, sent_by)
  values ($1, $2, 'cancelled', $5::jsonb, $3::jsonb, $4, $6, $7)
  on conflict (command_id) do nothing
  returning status`;

// A statement of its own: the insert above waits for a concurrent transaction that holds the key
// and does nothing once it commits, but that row is invisible to the rest of the same statement
// (its snapshot is older). A new statement sees it.
const FIND_OUTCOME = 'select status from processed_commands where command_id = $1';

/** Command outcomes written outside the unit of work: a cancellation, on the primary. */
export class PgCommandOutcomes implements CommandOutcomes {
  constructor(private readonly pool: pg.Pool) {}

  async cancel(command: { commandId: string; commandType: string } & QueuedCommandFields, at: Date): Promise<CommandOutcome> {
    const error = { code: 'command_cancelled', message: 'cancelled before it ran' };
    const result = command.after === undefined ? null : JSON.stringify({ after: command.after });
    const { sentBy } = command;
    const inserted = await this.pool.query(INSERT_CANCELLED, [
      command.commandId,
      command.commandType,
      JSON.stringify(error),
      at,
      result,
      sentBy?.keyId ?? null,
      sentBy?.name ?? null,
    ]);
    if (inserted.rowCount === 1) return 'cancelled';
    const { rows } = await this.pool.query<{ status: CommandOutcome }>(FIND_OUTCOME, [command.commandId]);
    const status = rows[0]?.status;
    if (!status) throw new Error(`command ${command.commandId}: the cancel conflicted with an outcome that is not there`);
    return status;
  }
}
