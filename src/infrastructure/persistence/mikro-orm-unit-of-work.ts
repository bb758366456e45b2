import { UniqueConstraintViolationException, type EntityManager, type MikroORM } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import {
  DomainError,
  DuplicateIdError,
  EmailTakenError,
  RecordedFailureError,
  SkuTakenError,
} from '../../domain/index.js';
import type { Repositories } from '../../application/commerce/ports/repositories.js';
import type { CommandContext, Json, UnitOfWork } from '../../application/commerce/ports/unit-of-work.js';
import { activeTraceCarrier } from '../observability/trace-context.js';
import { mikroOrmRepositories, type Tracked } from './repositories.js';

/** Channel NOTIFYed in the transaction that writes outbox rows; the relay LISTENs on it. */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * The MikroORM unit of work: one forked EntityManager and one transaction per command.
 *
 * In that transaction it checks `processed_commands` for the command id, runs the work,
 * turns every event the touched aggregates recorded into an `outbox_messages` row, writes the
 * `processed_commands` row, and NOTIFYs the relay; all of it commits or none of it does.
 * A command that fails with a DomainError rolls back and its failure is recorded in a second
 * short transaction, so a redelivery gets the same failure without running again.
 */
export class MikroOrmUnitOfWork implements UnitOfWork {
  constructor(
    private readonly orm: MikroORM,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async run<R extends Json>(command: CommandContext, work: (repos: Repositories) => Promise<R>): Promise<R> {
    try {
      return await this.orm.em.fork().transactional((em) => this.runInTransaction(em, command, work));
    } catch (error) {
      const translated = translate(error);
      if (translated instanceof RaceLost) {
        // Another delivery of the same command committed first: its outcome is the answer.
        return this.replay<R>(this.orm.em.fork(), command.commandId);
      }
      if (translated instanceof DomainError && !(translated instanceof RecordedFailureError)) {
        await this.recordFailure(command, translated);
        // A concurrent delivery may have succeeded in between; report what was stored.
        return this.replay<R>(this.orm.em.fork(), command.commandId);
      }
      throw translated;
    }
  }

  private async runInTransaction<R extends Json>(
    em: EntityManager,
    command: CommandContext,
    work: (repos: Repositories) => Promise<R>,
  ): Promise<R> {
    // The bookkeeping is plain SQL on the transaction's connection: it is the same few
    // statements for every command, and MikroORM's entity machinery costs several times more
    // CPU than the statements themselves (see docs/benchmarks.md).
    const [done] = await em.execute<OutcomeRow[]>(
      'select status, result, error from processed_commands where command_id = ?',
      [command.commandId],
    );
    if (done) return outcomeOf<R>(done);

    const tracked: Tracked = new Set();
    const result = await work(mikroOrmRepositories(em, tracked));
    await em.flush();

    const events = [...tracked].flatMap((aggregate) =>
      aggregate.pullEvents().map((event) => ({
        id: uuidv7(),
        type: event.type,
        aggregate_type: event.aggregateType,
        aggregate_id: event.aggregateId,
        payload: event.payload,
        occurred_at: event.occurredAt.toISOString(),
      })),
    );
    // One statement: the outbox rows, the processed-command row and the NOTIFY (delivered by
    // PostgreSQL only when, and if, the transaction commits). The job's trace context (with
    // tracing on) goes with each outbox row, so the relay continues the trace.
    await em.execute(
      `with outbox as (
         insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, command_id, trace_context)
         select id, type, aggregate_type, aggregate_id, payload, occurred_at, ?::uuid, ?::jsonb
           from jsonb_to_recordset(?::jsonb)
             as t(id uuid, type text, aggregate_type text, aggregate_id uuid, payload jsonb, occurred_at timestamptz)
       ), processed as (
         insert into processed_commands (command_id, command_type, status, result, error, processed_at)
         values (?, ?, 'succeeded', ?::jsonb, null, ?)
       )
       select pg_notify('${OUTBOX_CHANNEL}', '') where ?::boolean`,
      [
        command.commandId,
        traceContextJson(),
        JSON.stringify(events),
        command.commandId,
        command.commandType,
        JSON.stringify(result),
        this.clock(),
        events.length > 0,
      ],
    );
    return result;
  }

  private async recordFailure(command: CommandContext, error: DomainError): Promise<void> {
    await this.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into processed_commands (command_id, command_type, status, result, error, processed_at)
         values (?, ?, 'failed', null, ?, ?) on conflict (command_id) do nothing`,
        [command.commandId, command.commandType, JSON.stringify({ code: error.code, message: error.message }), this.clock()],
      );
  }

  private async replay<R>(em: EntityManager, commandId: string): Promise<R> {
    const [done] = await em.execute<OutcomeRow[]>(
      'select status, result, error from processed_commands where command_id = ?',
      [commandId],
    );
    if (!done) throw new Error(`command ${commandId} has no recorded outcome`);
    return outcomeOf<R>(done);
  }
}

function traceContextJson(): string | null {
  const carrier = activeTraceCarrier();
  return carrier ? JSON.stringify(carrier) : null;
}

interface OutcomeRow {
  status: 'succeeded' | 'failed';
  result: unknown;
  error: { code: string; message: string } | null;
}

function outcomeOf<R>(done: OutcomeRow): R {
  if (done.status === 'failed') {
    throw new RecordedFailureError(done.error?.code ?? 'failed', done.error?.message ?? 'command failed');
  }
  return done.result as R;
}

class RaceLost extends Error {}

/** Database facts become domain errors here, and only here. */
function translate(error: unknown): unknown {
  if (!(error instanceof UniqueConstraintViolationException)) return error;
  const { constraint, detail } = error as unknown as { constraint?: string; detail?: string };
  switch (constraint) {
    case 'processed_commands_pkey':
      return new RaceLost();
    case 'users_email_unique':
      return new EmailTakenError(/\(email\)=\((.*)\)/.exec(detail ?? '')?.[1] ?? 'this email');
    case 'products_sku_unique':
      return new SkuTakenError(/\(sku\)=\((.*)\)/.exec(detail ?? '')?.[1] ?? 'this sku');
    case 'users_pkey':
    case 'products_pkey':
    case 'orders_pkey':
      return new DuplicateIdError(`${constraint.replace('s_pkey', '')} id is already taken`);
    default:
      return error;
  }
}
