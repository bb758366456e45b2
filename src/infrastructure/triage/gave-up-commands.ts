import type { Job, Worker } from 'bullmq';
import { commandPayloads, isCommandType, orderingKey, splitJobData } from '../../../queues/commands.js';
import { decodeFailure, type ProcessorFailureCode } from '../../../queues/failure.js';
import type { Logger } from '../logger.js';

// Commands that gave up: their job ran out of attempts on infrastructure errors, so they have no
// outcome in processed_commands (that row is the exactly-once record; a retry must still be able
// to apply the command). PostgreSQL is the source of truth after intake, so each such job is
// copied into gave_up_commands: by the worker when the last attempt fails (best effort), and by
// the relay's sweeper from BullMQ's failed set, for when PostgreSQL was what failed.

/** A row of gave_up_commands as the statement below takes it. */
export interface GaveUpRow {
  command_id: string;
  command_type: string;
  aggregate_key: string | null;
  payload: unknown;
  error: { code: string; message: string };
  attempts: number;
  gave_up_at: string;
}

/** Failures the processor decides on its own: the job was refused, it did not give up. */
const REFUSED: ReadonlySet<string> = new Set<ProcessorFailureCode>(['unknown_command', 'invalid_payload']);

/**
 * Whether a failed command job gave up, rather than being failed for good on purpose by the
 * worker. The worker writes its own decisions with `encodeFailure` (a domain failure, a refused
 * payload); any other reason is an error it let through to BullMQ: its last attempt's
 * infrastructure error, or BullMQ's own "job stalled more than allowable limit". A reason that
 * reads as a code on the last attempt counts too, unless it is a refusal: a domain failure then
 * has its outcome row, which wins wherever this is asked.
 */
export function hasGivenUp(job: Pick<Job, 'attemptsMade' | 'opts' | 'failedReason'>): boolean {
  const decoded = decodeFailure(job.failedReason ?? '');
  if (!decoded) return true;
  return !REFUSED.has(decoded.code) && job.attemptsMade >= (job.opts.attempts ?? 1);
}

/**
 * The gave_up_commands row of a failed command job that gave up, or null for any other job:
 * one the worker failed for good on purpose (a domain failure, which has its outcome row, or a
 * refused payload). Ask only of jobs in the failed state.
 */
export function gaveUpRow(job: Job): GaveUpRow | null {
  if (!job.id || !isCommandType(job.name) || !hasGivenUp(job)) return null;
  const reason = job.failedReason ?? '';
  const decoded = decodeFailure(reason);
  const parsed = commandPayloads[job.name].safeParse(splitJobData(job.data).payload);
  return {
    command_id: job.id,
    command_type: job.name,
    aggregate_key: parsed.success ? orderingKey(job.name, parsed.data) : null,
    payload: job.data,
    // As the status route reads a failed job (BullMqCommandJobs).
    error: decoded ?? { code: 'infrastructure_error', message: reason || 'the command could not be processed' },
    attempts: job.attemptsMade,
    // The job's own time, so the worker and the sweeper write the same row for one give-up.
    gave_up_at: new Date(job.finishedOn ?? Date.now()).toISOString(),
  };
}

/**
 * Records commands that gave up, one statement for all of `rows` (a JSON parameter, named by
 * `placeholder`: `?` for MikroORM, `$1` for pg):
 * - not a command that has an outcome (a domain failure on its last attempt, or a command that
 *   succeeded after all);
 * - a row already there stays as it is (the worker and the sweeper both saw this give-up),
 *   unless the command was retried since and gave up again: then it counts the new attempts
 *   and is `gave_up` once more.
 */
export function recordGaveUpSql(placeholder: '?' | '$1'): string {
  return `insert into gave_up_commands (command_id, command_type, aggregate_key, payload, error, attempts, gave_up_at)
    select t.command_id, t.command_type, t.aggregate_key, t.payload, t.error, t.attempts, t.gave_up_at
      from jsonb_to_recordset(${placeholder}::jsonb)
        as t(command_id uuid, command_type text, aggregate_key text, payload jsonb, error jsonb, attempts int, gave_up_at timestamptz)
     where not exists (select 1 from processed_commands p where p.command_id = t.command_id)
    on conflict (command_id) do update
       set payload = excluded.payload, error = excluded.error, attempts = gave_up_commands.attempts + excluded.attempts,
           gave_up_at = excluded.gave_up_at, retried_at = null
     where gave_up_commands.retried_at is not null and excluded.gave_up_at > gave_up_commands.retried_at`;
}

/**
 * The command worker's part: each job that gives up is recorded at once. Best effort: when
 * PostgreSQL is what failed, the relay's sweeper copies it later.
 */
export function recordGaveUpCommands(worker: Worker, execute: (sql: string, params: unknown[]) => Promise<unknown>, logger: Logger): void {
  worker.on('failed', (job) => {
    // Emitted for every failed attempt; only a job moved to the failed set has finished.
    const row = job?.finishedOn ? gaveUpRow(job) : null;
    if (!row) return;
    execute(recordGaveUpSql('?'), [JSON.stringify([row])]).then(
      () => logger.info({ commandId: row.command_id, attempts: row.attempts }, 'command gave up: listed for retry'),
      (error: unknown) =>
        logger.warn({ err: error, commandId: row.command_id }, 'could not record the command that gave up; the sweeper will'),
    );
  });
}
