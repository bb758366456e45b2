import { UniqueConstraintViolationException, type EntityManager, type MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { ROOT_CONTEXT, context, propagation, type Context } from '@opentelemetry/api';
import { uuidv7 } from '../ids.js';
import {
  CommandCancelledError,
  DomainError,
  DuplicateIdError,
  EmailTakenError,
  RecordedFailureError,
  SkuTakenError,
} from '../../domain/index.js';
import type { Repositories } from '../../application/commerce/ports/repositories.js';
import type { CommandContext, Json, UnitOfWork } from '../../application/commerce/ports/unit-of-work.js';
import { activeTraceCarrier, type TraceCarrier } from '../observability/trace-context.js';
import {
  PredecessorPendingError,
  currentCommandJob,
  missingLinks,
  pendingPredecessor,
  type CommandJobContext,
} from '../ordering/predecessor.js';
import { isUuid } from './columns.js';
import { Reads, ReadsClosedError, RowsAhead, mikroOrmRepositories, type Tracked } from './repositories.js';
import { HELD, pipelining, poolPipelines, withPipelinedStatements } from './pipelined-statements.js';
import { ProductSchema, UserSchema } from './schemas.js';

/** Ids, from a JSON array of them (one parameter, however many there are). */
const IDS = 'select value::uuid from jsonb_array_elements_text(?::jsonb)';
/** The products on the orders of a JSON array of order ids (the lines' productId). */
const PRODUCTS_OF_ORDERS = `select (line->>'productId')::uuid from orders, jsonb_array_elements(orders.items) as line where orders.id in (${IDS})`;

/** Channel NOTIFYed in the transaction that writes outbox rows; the relay LISTENs on it. */
export const OUTBOX_CHANNEL = 'outbox';

/** How commands share transactions (see docs/adr/0005-group-commit.md). */
export interface UnitOfWorkOptions {
  /**
   * Commands that arrive while a transaction is running wait for the next one and then run
   * together in it, at most this many ("group commit"). 1 runs each command in a transaction
   * of its own. Default 32.
   */
  maxBatch?: number;
  /** Group transactions running at once, each on its own connection. Default 2. */
  maxConcurrentBatches?: number;
  /**
   * A transaction's writes travel with its next statement instead of on their own
   * (docs/adr/0016-pipelined-statements.md). Default true; always off when the ORM's pool is not
   * made of PipeliningClients (`ormConfig` makes it so).
   */
  pipelined?: boolean;
  /** Called with the size of every group transaction that commits (metrics, tests). */
  onBatch?: (size: number, fellBack: boolean) => void;
}

interface Pending {
  command: CommandContext;
  work: (repos: Repositories) => Promise<Json>;
  /** The command that must have an outcome first (per-aggregate ordering), if any. */
  after: string | undefined;
  /** The job's attempt and aggregate, recorded with the outcome. */
  job: CommandJobContext | undefined;
  /** The job's trace context, taken where the command was submitted (the batch runs elsewhere). */
  trace: TraceCarrier | null;
  resolve: (result: Json) => void;
  reject: (error: unknown) => void;
}

/**
 * What one command of a group transaction came to, before the transaction commits: a result,
 * a domain failure, or a PredecessorPendingError (it did not run).
 */
type Settled = { ok: true; result: Json } | { ok: false; error: DomainError | PredecessorPendingError };

interface EventRow {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: unknown;
  occurred_at: string;
  command_id: string;
  trace_context: TraceCarrier | null;
}

interface ProcessedRow {
  command_id: string;
  command_type: string;
  status: 'succeeded' | 'failed';
  result: Json | null;
  error: { code: string; message: string } | null;
  /** Which attempt of its job recorded the outcome, and the command's aggregate (triage); null outside a job. */
  attempts: number | null;
  aggregate_key: string | null;
  /** The API key that sent the command (ADR 0011); null when it came from elsewhere (a schedule, the relay). */
  sent_by_key_id: string | null;
  sent_by: string | null;
}

/**
 * The MikroORM unit of work: the commands of a process run in transactions on forked
 * EntityManagers, each command with an identity map and a flush of its own.
 *
 * In its transaction a command's id is checked against `processed_commands`, its work runs,
 * every event the touched aggregates recorded becomes an `outbox_messages` row, a
 * `processed_commands` row records the outcome, and the relay is NOTIFYed; all of it commits
 * or none of it does. A command that fails with a DomainError changes nothing, and its
 * failure is recorded, so a redelivery gets the same failure without running again.
 *
 * Group commit: commands submitted while a transaction is running are queued and then run
 * together, one after the other, in the next transaction (up to `maxBatch`); their bookkeeping
 * rows go in one statement and one COMMIT makes them all durable. At low load a command finds
 * no transaction running and starts one alone, so it waits for nothing. No savepoints: the
 * work of a command writes nothing until its flush (repositories only read and lock), so a
 * DomainError leaves the transaction clean; a database error (a unique violation, a deadlock,
 * a lost connection) rolls the whole group back, and each of its commands then runs again in
 * a transaction of its own, which is where such errors are told apart as before.
 */
export class MikroOrmUnitOfWork implements UnitOfWork {
  private readonly maxBatch: number;
  private readonly maxConcurrentBatches: number;
  private readonly queue: Pending[] = [];
  private running = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly clock: () => Date = () => new Date(),
    private readonly options: UnitOfWorkOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 32);
    this.maxConcurrentBatches = Math.max(1, options.maxConcurrentBatches ?? 2);
    // Only on a pool of PipeliningClients (ormConfig's): a plain client would not hold writes
    // and would answer reads sent together as nothing.
    const pipelined = options.pipelined !== false && poolPipelines(orm.config.get('driverOptions'));
    this.transaction = pipelined ? withPipelinedStatements : (work) => work();
  }

  /** Opens the unit of work's transactions: with pipelined statements, unless turned off. */
  private readonly transaction: <T>(work: () => Promise<T>) => Promise<T>;

  /**
   * Per-aggregate ordering (docs/adr/0006-per-aggregate-ordering.md): when the command worker
   * named a predecessor (`runAfter`), the command runs only if the predecessor has an outcome
   * in processed_commands (committed, or earlier in the same group); otherwise nothing runs
   * and this rejects with PredecessorPendingError. The check reads the same statement as the
   * command's own exactly-once check, so it costs no round trip.
   */
  run<R extends Json>(command: CommandContext, work: (repos: Repositories) => Promise<R>): Promise<R> {
    const job = currentCommandJob();
    const after = job?.after;
    if (this.maxBatch === 1) return this.runAlone(command, work, after, job);
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ command, work, after, job, trace: activeTraceCarrier(), resolve: resolve as (result: Json) => void, reject });
      this.startBatches();
    });
  }

  /**
   * What the commands behind `commandId` on its aggregate still wait for: `commandId` itself
   * while it has no recorded outcome; if it was cancelled in line, the first command it was
   * waiting for (link after link) that has none; undefined once they may run. Read outside any
   * transaction.
   */
  async pendingLink(commandId: string): Promise<string | undefined> {
    const connection = this.orm.em.getConnection();
    const known = byCommand(await connection.execute<GateRows>(GATE_OUTCOMES, [JSON.stringify([commandId])]));
    await followCancels([commandId], known, (ids) => connection.execute<GateRows>(GATE_OUTCOMES, [JSON.stringify(ids)]));
    return pendingPredecessor(commandId, known);
  }

  private startBatches(): void {
    while (this.running < this.maxConcurrentBatches && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.running += 1;
      void this.runBatch(batch).finally(() => {
        this.running -= 1;
        this.startBatches();
      });
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    // The same command id twice in one group (a stalled job redelivered to this process):
    // it runs once and both get its outcome.
    const byId = new Map<string, Pending[]>();
    for (const item of batch) {
      const same = byId.get(item.command.commandId);
      if (same) same.push(item);
      else byId.set(item.command.commandId, [item]);
    }
    let settled: Map<string, Settled>;
    try {
      settled = await this.transaction(() =>
        this.orm.em.fork().transactional((em) => this.runGroup(em, [...byId.values()].map((items) => items[0]!))),
      );
    } catch {
      // Rolled back: nothing of the group is applied. Each command runs again on its own,
      // where a unique violation becomes its domain error and a lost race its replay.
      this.options.onBatch?.(batch.length, true);
      await Promise.all(
        batch.map((item) =>
          context.with(contextOf(item.trace), () => this.runAlone(item.command, item.work, item.after, item.job)).then(item.resolve, item.reject),
        ),
      );
      return;
    }
    this.options.onBatch?.(batch.length, false);
    for (const [commandId, items] of byId) {
      const outcome = settled.get(commandId)!;
      for (const item of items) {
        if (outcome.ok) item.resolve(outcome.result);
        else item.reject(outcome.error);
      }
    }
  }

  private async runGroup(em: EntityManager, items: Pending[]): Promise<Map<string, Settled>> {
    const settled = new Map<string, Settled>();
    // Commands with a recorded outcome: the group's own (a redelivery replays it) and their
    // predecessors (which must have one before they run).
    const ids = new Set(items.flatMap((item) => (item.after ? [item.command.commandId, item.after] : [item.command.commandId])));
    const inGroup = new Set(items.map((item) => item.command.commandId));
    const outcomes = `select command_id, status, result, error from processed_commands where command_id in (${IDS})`;
    // The ids as one JSON parameter: MikroORM expands an array parameter into a list.
    const params = [JSON.stringify([...ids])];
    // A group of two or more reads ahead, in front of the outcome read and in the same round
    // trip, the products its commands lock (locking them, in one order) and the users they read;
    // its commands then take them from there, one after the other, without a round trip of their
    // own while the group holds the products.
    const firstTrip = new Reads(em);
    const reading = items.length >= 2 ? this.readAhead(firstTrip, items) : undefined;
    // Otherwise the first command's work starts at once, so that its reads travel in the same
    // round trip as the outcome read (ADR 0016). It only reads and locks until its flush, which
    // waits for the answer: a redelivered command (it has an outcome already) is dropped
    // unflushed, and its locks go with the transaction. Only for a command without a
    // predecessor: one that has a predecessor may well have to wait for it, and must not lock
    // what its predecessor is about to need. Only with pipelined statements, the one way the
    // reads travel together.
    const [first] = items;
    let head = !reading && first && first.after === undefined && pipelining() ? this.startWork(em, first, undefined) : undefined;
    let rows: (OutcomeRow & { command_id: string })[];
    let ahead: RowsAhead | undefined;
    // The gate's view: recorded outcomes, then those of the group's commands as they settle.
    let known: Map<string, GateRow>;
    try {
      const outcomeRows = (head ? head.reads : firstTrip).read(outcomes, params) as Promise<unknown[]> as Promise<(OutcomeRow & { command_id: string })[]>;
      [rows, ahead] = await Promise.all([outcomeRows, reading]);
      known = byCommand(rows);
      await followCancels(
        items.map((item) => item.after),
        known,
        (ids) => em.execute<GateRows>(GATE_OUTCOMES, [JSON.stringify(ids)]),
      );
    } catch (error) {
      // The first command's work may still be reading on this transaction's connection.
      await head?.work.catch(() => undefined);
      throw error;
    }
    for (const row of rows) if (inGroup.has(row.command_id)) settled.set(row.command_id, settle(row, row.command_id));
    if (head && first && settled.has(first.command.commandId)) {
      // Dropped: what it reads from now on is refused at once. A database error of its own
      // aborted the transaction: the group falls back as for any other command's.
      head.reads.close();
      const failure = await head.work.then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      );
      if (failure && !(failure instanceof DomainError) && !(failure instanceof ReadsClosedError)) throw failure;
      head = undefined;
    }

    const events: EventRow[] = [];
    const processed: ProcessedRow[] = [];
    // In submission order, except that a command whose predecessor is later in the same group
    // waits for it (a pass per link of such a chain; nearly always one pass).
    let pending = items.filter((item) => !settled.has(item.command.commandId));
    while (pending.length > 0) {
      const later: Pending[] = [];
      for (const item of pending) {
        const { commandId, commandType } = item.command;
        const waitingFor = item.after === undefined ? undefined : pendingPredecessor(item.after, known);
        if (waitingFor !== undefined) {
          if (inGroup.has(waitingFor) && !settled.has(waitingFor)) later.push(item);
          else settled.set(commandId, { ok: false, error: new PredecessorPendingError(waitingFor) });
          continue;
        }
        const { fork, tracked, work } = head && item === first ? head : this.startWork(em, item, ahead);
        head = undefined;
        let result: Json;
        try {
          result = await work;
        } catch (error) {
          if (!(error instanceof DomainError) || error instanceof RecordedFailureError) throw error;
          const failure = { code: error.code, message: error.message };
          processed.push({ command_id: commandId, command_type: commandType, status: 'failed', result: null, error: failure, ...jobFacts(item.job) });
          settled.set(commandId, { ok: false, error: new RecordedFailureError(failure.code, failure.message) });
          known.set(commandId, { status: 'failed', result: null });
          continue;
        }
        await fork.flush();
        // The next command of the group reads what this one wrote.
        ahead?.wrote(fork, tracked);
        events.push(...eventRows(tracked, commandId, item.trace));
        processed.push({ command_id: commandId, command_type: commandType, status: 'succeeded', result, error: null, ...jobFacts(item.job) });
        settled.set(commandId, { ok: true, result });
        known.set(commandId, { status: 'succeeded', result });
      }
      if (later.length === pending.length) {
        // No progress: only a cycle of predecessors could do this, which intake never builds.
        for (const item of later) {
          settled.set(item.command.commandId, { ok: false, error: new PredecessorPendingError(pendingPredecessor(item.after!, known) ?? item.after!) });
        }
        break;
      }
      pending = later;
    }
    if (processed.length > 0) await this.writeBookkeeping(em, events, processed);
    return settled;
  }

  /**
   * The group's read-ahead, asked on `reads` so that it travels with the outcome read: every
   * product the group's commands said they will lock (`CommandContext.locks`: by id, or those on
   * an order a command cancels or expires — an order's lines never change once placed, so what
   * is locked here is what the command will lock), locked in one statement and in id order, and
   * every user they said they will read (`CommandContext.reads`; a user never changes once
   * registered). Undefined when they declared nothing.
   *
   * Why one ordered lock: a command locks its own products in id order, but in a group it does
   * so while holding what the commands before it locked; two groups at once would take the same
   * rows in different orders and deadlock, which costs PostgreSQL's deadlock_timeout (1 s by
   * default) and the aborted group's commands a second run one by one. Taken up front, every
   * transaction's product locks are one ordered statement, so they only wait for each other.
   * Why the rows: the group holds the products from here to its COMMIT, so the commands that run
   * on them in turn take them from here instead of reading each in a round trip of its own while
   * the next group waits for the lock (ADR 0005, "Read-ahead").
   */
  private readAhead(reads: Reads, items: Pending[]): Promise<RowsAhead> | undefined {
    const products = new Set(items.flatMap((item) => item.command.locks?.products ?? []).filter(isUuid));
    const orders = new Set(items.flatMap((item) => item.command.locks?.productsOfOrders ?? []).filter(isUuid));
    const users = new Set(items.flatMap((item) => item.command.reads?.users ?? []).filter(isUuid));
    if (products.size === 0 && orders.size === 0 && users.size === 0) return undefined;
    const ids = (values: Set<string>) => JSON.stringify([...values]);
    const ahead = new RowsAhead();
    const asked: Promise<void>[] = [];
    if (products.size > 0 || orders.size > 0) {
      const locked =
        orders.size === 0
          ? reads.read(`select * from products where id in (${IDS}) order by id for update`, [ids(products)])
          : reads.read(`select * from products where id in (${IDS} union ${PRODUCTS_OF_ORDERS}) order by id for update`, [
              ids(products),
              ids(orders),
            ]);
      asked.push(locked.then((rows) => ahead.add(ProductSchema, rows)));
    }
    if (users.size > 0) asked.push(reads.read(`select * from users where id in (${IDS})`, [ids(users)]).then((rows) => ahead.add(UserSchema, rows)));
    return Promise.all(asked).then(() => ahead);
  }

  /**
   * Starts a command's work on a fork of its own (its own identity map and change set, in the
   * group's transaction). `reads` batches what is read in the same turn into one round trip.
   */
  private startWork(
    em: EntityManager,
    item: Pending,
    ahead: RowsAhead | undefined,
  ): { fork: EntityManager; tracked: Tracked; reads: Reads; work: Promise<Json> } {
    const fork = em.fork({ keepTransactionContext: true });
    const tracked: Tracked = new Set();
    const reads = new Reads(fork);
    // Outcome read first, then the work's reads (the caller asks it right after this returns,
    // in the same turn, so the work's reads join it).
    const work = Promise.resolve().then(() => item.work(mikroOrmRepositories(fork, tracked, reads, ahead)));
    // Awaited later, perhaps after another await: never an unhandled rejection meanwhile.
    work.catch(() => undefined);
    return { fork, tracked, reads, work };
  }

  /** Runs one command in a transaction of its own. */
  private async runAlone<R extends Json>(
    command: CommandContext,
    work: (repos: Repositories) => Promise<R>,
    after: string | undefined,
    job: CommandJobContext | undefined,
  ): Promise<R> {
    try {
      return await this.transaction(() => this.orm.em.fork().transactional((em) => this.runInTransaction(em, command, work, after, job)));
    } catch (error) {
      const translated = translate(error);
      if (translated instanceof RaceLost) {
        // Another delivery of the same command committed first: its outcome is the answer.
        return this.replay<R>(this.orm.em.fork(), command.commandId);
      }
      if (translated instanceof DomainError && !(translated instanceof RecordedFailureError)) {
        await this.recordFailure(command, translated, job);
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
    after: string | undefined,
    job: CommandJobContext | undefined,
  ): Promise<R> {
    // The bookkeeping is plain SQL on the transaction's connection: it is the same few
    // statements for every command, and MikroORM's entity machinery costs several times more
    // CPU than the statements themselves (see docs/benchmarks.md).
    const rows = await em.execute<(OutcomeRow & { command_id: string })[]>(
      'select command_id, status, result, error from processed_commands where command_id in (?, ?)',
      [command.commandId, after ?? command.commandId],
    );
    const done = rows.find((row) => row.command_id === command.commandId);
    if (done) return outcomeOf<R>(done, command.commandId);
    const known = byCommand(rows);
    await followCancels([after], known, (ids) => em.execute<GateRows>(GATE_OUTCOMES, [JSON.stringify(ids)]));
    const waitingFor = after === undefined ? undefined : pendingPredecessor(after, known);
    if (waitingFor !== undefined) throw new PredecessorPendingError(waitingFor);

    const tracked: Tracked = new Set();
    const result = await work(mikroOrmRepositories(em, tracked));
    await em.flush();
    await this.writeBookkeeping(em, eventRows(tracked, command.commandId, activeTraceCarrier()), [
      { command_id: command.commandId, command_type: command.commandType, status: 'succeeded', result, error: null, ...jobFacts(job) },
    ]);
    return result;
  }

  /**
   * One statement: the outbox rows, the processed-command rows and the NOTIFY (delivered by
   * PostgreSQL only when, and if, the transaction commits). Its answer is not read, so it is
   * held and travels with the COMMIT (ADR 0016). Each outbox row carries the trace context of
   * its command's job (with tracing on), so the relay continues the trace.
   */
  private async writeBookkeeping(em: EntityManager, events: EventRow[], processed: ProcessedRow[]): Promise<void> {
    await em.execute(
      `${HELD} with outbox as (
         insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, command_id, trace_context)
         select id, type, aggregate_type, aggregate_id, payload, occurred_at, command_id, trace_context
           from jsonb_to_recordset(?::jsonb)
             as t(id uuid, type text, aggregate_type text, aggregate_id uuid, payload jsonb, occurred_at timestamptz,
                  command_id uuid, trace_context jsonb)
       ), processed as (
         insert into processed_commands (command_id, command_type, status, result, error, processed_at, attempts, aggregate_key,
                                         sent_by_key_id, sent_by)
         select command_id, command_type, status, result, error, ?, attempts, aggregate_key, sent_by_key_id, sent_by
           from jsonb_to_recordset(?::jsonb)
             as t(command_id uuid, command_type text, status text, result jsonb, error jsonb, attempts int, aggregate_key text,
                  sent_by_key_id text, sent_by text)
       )
       select pg_notify('${OUTBOX_CHANNEL}', '') where ?::boolean`,
      [JSON.stringify(events), this.clock(), JSON.stringify(processed), events.length > 0],
    );
  }

  private async recordFailure(command: CommandContext, error: DomainError, job: CommandJobContext | undefined): Promise<void> {
    const { attempts, aggregate_key, sent_by_key_id, sent_by } = jobFacts(job);
    await this.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into processed_commands (command_id, command_type, status, result, error, processed_at, attempts, aggregate_key,
                                         sent_by_key_id, sent_by)
         values (?, ?, 'failed', null, ?, ?, ?, ?, ?, ?) on conflict (command_id) do nothing`,
        [
          command.commandId,
          command.commandType,
          JSON.stringify({ code: error.code, message: error.message }),
          this.clock(),
          attempts,
          aggregate_key,
          sent_by_key_id,
          sent_by,
        ],
      );
  }

  private async replay<R>(em: EntityManager, commandId: string): Promise<R> {
    const [done] = await em.execute<OutcomeRow[]>(
      'select status, result, error from processed_commands where command_id = ?',
      [commandId],
    );
    if (!done) throw new Error(`command ${commandId} has no recorded outcome`);
    return outcomeOf<R>(done, commandId);
  }
}

/** The outbox rows of the events the touched aggregates recorded, in the order they happened. */
function eventRows(tracked: Tracked, commandId: string, trace: TraceCarrier | null): EventRow[] {
  return [...tracked].flatMap((aggregate) =>
    aggregate.pullEvents().map((event) => ({
      id: uuidv7(),
      type: event.type,
      aggregate_type: event.aggregateType,
      aggregate_id: event.aggregateId,
      payload: event.payload,
      occurred_at: event.occurredAt.toISOString(),
      command_id: commandId,
      trace_context: trace,
    })),
  );
}

/** The columns of a processed-command row that come from the command's job. */
function jobFacts(job: CommandJobContext | undefined): Pick<ProcessedRow, 'attempts' | 'aggregate_key' | 'sent_by_key_id' | 'sent_by'> {
  return {
    attempts: job?.attempt ?? null,
    aggregate_key: job?.aggregate ?? null,
    sent_by_key_id: job?.sentBy?.keyId ?? null,
    sent_by: job?.sentBy?.name ?? null,
  };
}

/** The OpenTelemetry context a stored carrier stands for (none when it is null). */
function contextOf(trace: TraceCarrier | null): Context {
  return trace ? propagation.extract(ROOT_CONTEXT, trace) : ROOT_CONTEXT;
}


/** A recorded outcome as the ordering's gate reads it. */
type GateRow = Pick<OutcomeRow, 'status' | 'result'>;
type GateRows = (GateRow & { command_id: string })[];

/** The gate's own read of outcomes (the ids as one JSON parameter). */
const GATE_OUTCOMES = `select command_id, status, result from processed_commands where command_id in (${IDS})`;

/** Rows by their command id. */
function byCommand(rows: (GateRow & { command_id: string })[]): Map<string, GateRow> {
  return new Map(rows.map((row) => [row.command_id, row]));
}

/**
 * Adds to `known` the outcomes the gate needs beyond its usual read: of the commands that
 * cancelled predecessors of `afters` were waiting for, link after link (ADR 0006). Nothing to
 * read, and no round trip, unless a command was cancelled in the middle of its line.
 */
async function followCancels(
  afters: readonly (string | undefined)[],
  known: Map<string, GateRow>,
  read: (ids: string[]) => Promise<GateRows>,
): Promise<void> {
  const asked = new Set<string>();
  for (let ids = missingLinks(afters, known, asked); ids.length > 0; ids = missingLinks(afters, known, asked)) {
    for (const id of ids) asked.add(id);
    for (const row of await read(ids)) known.set(row.command_id, row);
  }
}

interface OutcomeRow {
  /** `cancelled` is written by the API (DELETE /v1/commands/:id), never here: such a command is refused. */
  status: 'succeeded' | 'failed' | 'cancelled';
  result: unknown;
  error: { code: string; message: string } | null;
}

function settle(done: OutcomeRow, commandId: string): Settled {
  if (done.status === 'cancelled') return { ok: false, error: new CommandCancelledError(commandId) };
  return done.status === 'failed'
    ? { ok: false, error: new RecordedFailureError(done.error?.code ?? 'failed', done.error?.message ?? 'command failed') }
    : { ok: true, result: done.result as Json };
}

function outcomeOf<R>(done: OutcomeRow, commandId: string): R {
  if (done.status === 'cancelled') throw new CommandCancelledError(commandId);
  if (done.status === 'failed') {
    throw new RecordedFailureError(done.error?.code ?? 'failed', done.error?.message ?? 'command failed');
  }
  return done.result as R;
}

class RaceLost extends Error {}

/** PostgreSQL's SQLSTATE for unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** Database facts become domain errors here, and only here. */
function translate(error: unknown): unknown {
  // MikroORM converts the errors of the statements it sends; an error of a held statement
  // reported by the COMMIT comes as pg's own (src/infrastructure/persistence/pipelined-statements.ts).
  const unique = error instanceof UniqueConstraintViolationException || (error instanceof pg.DatabaseError && error.code === UNIQUE_VIOLATION);
  if (!unique) return error;
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
