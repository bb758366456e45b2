import type { JobsOptions, Queue } from 'bullmq';
import type pg from 'pg';
import { uuidv7 } from '../ids.js';
import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { emailsForEvent } from '../../application/email/policy.js';
import { endpointsForEvent } from '../../application/webhooks/policy.js';
import { EMAIL_JOB_NAME, type EmailJobData } from '../../../queues/emails.js';
import { WEBHOOK_JOB_NAME, type WebhookJobData } from '../../../queues/webhooks.js';
import { FailureStreak } from '../failure-streak.js';
import type { Logger } from '../logger.js';
import { continueTrace, inChildSpan, type ContinuedSpan, type TraceCarrier } from '../observability/trace-context.js';
import type { FirstAttempts, NewRow } from './first-attempts.js';
import type { SendingRow } from '../webhooks/postgres-webhook-repository.js';
import { OUTBOX_CHANNEL } from '../persistence/mikro-orm-unit-of-work.js';
import { isUuid, UUID_PATTERN } from '../persistence/columns.js';
import { inOrder } from '../persistence/pipelining-pool.js';
import { preparedStatement, staleStatement } from '../persistence/prepared-statement.js';

// The relay's statements with values, run per batch: prepared, so PostgreSQL plans each once
// per connection (docs/adr/0018-prepared-statements.md). The claim goes without values, as
// one simple query with its BEGIN (claimAndCreateRows).
const USER_ADDRESSES = preparedStatement('select id, email from users where id = any($1::uuid[])');
const MARK_PUBLISHED = preparedStatement(
  'update outbox_messages set published_at = now() where id = any($1::uuid[]) and published_at is null',
);
// Deleted endpoints were left out of the claim only to keep the read small: which endpoints get
// an event is the policy's decision. The pending rows of these events are the new ones and those
// of an earlier, interrupted run of the same batch (the select sees the table as it was before
// this statement, so a new row is listed once, by its insert).
// With first attempts, a delivery the relay will attempt is created claimed for that attempt
// ($12, its attempt id, or null; $13, when it started), and the row comes back with its
// endpoint as the attempt's claim would read it: the attempt needs no claim statement of its own.
const CREATE_ROWS = preparedStatement(`with deliveries as (
   insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at, attempt_id, attempt_started_at)
   select id, endpoint_id, event_id, event_type, body, 'pending', 0, now(), attempt_id, case when attempt_id is not null then $13::timestamptz end
     from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $12::uuid[])
       as t(id, endpoint_id, event_id, event_type, body, attempt_id)
   on conflict (endpoint_id, event_id) do nothing
   returning id, event_id, endpoint_id, attempt_id),
 emails as (
   insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at)
   select id, event_id, template, to_address, message_id, 'pending', 0, now()
     from unnest($6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[])
       as t(id, event_id, template, to_address, message_id)
   on conflict (event_id, template) do nothing
   returning id, event_id)
 select id, 'webhook' as kind, event_id as "eventId", true as fresh, attempt_id as "attemptId",
        case when attempt_id is not null then (select to_jsonb(e) from webhook_endpoints e where e.id = deliveries.endpoint_id) end as endpoint
   from deliveries
 union all
 select id, 'email' as kind, event_id as "eventId", true as fresh, null, null from emails
 union all
 select id, 'webhook' as kind, event_id as "eventId", false as fresh, null, null from webhook_deliveries where event_id = any($11::uuid[]) and status = 'pending'
 union all
 select id, 'email' as kind, event_id as "eventId", false as fresh, null, null from email_messages where event_id = any($11::uuid[]) and status = 'pending'`);

/** An outbox row as the relay reads it. */
export interface OutboxEvent {
  id: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  payload: Record<string, unknown>;
  occurredAt: Date;
  /** The command that wrote the event (null for rows written before this was recorded). */
  commandId: string | null;
  /** The trace context of that command's job, when it was traced. */
  traceContext: TraceCarrier | null;
}

/**
 * How the relay writes what it creates. Which emails and deliveries an event implies is not
 * up to the relay either: the pure policies of src/application/email and src/application/webhooks
 * decide it.
 */
export interface RelayPolicies {
  /** The exact webhook body for an event, the same for every endpoint. */
  buildWebhookBody(event: OutboxEvent): string;
  emailJobOptions: JobsOptions;
  webhookJobOptions: JobsOptions;
}

export interface OutboxRelayOptions {
  /** Primary database: the relay writes, and LISTENs on a dedicated connection. */
  pool: pg.Pool;
  emails: Queue;
  webhooks: Queue;
  policies: RelayPolicies;
  logger: Logger;
  /** Outbox rows claimed per transaction. */
  batchSize?: number;
  /** Polling fallback when no NOTIFY arrives (lost connection, rows from another writer). */
  pollIntervalMs?: number;
  /** Mail domain of Message-IDs. */
  messageIdDomain?: string;
  /** Counts published events (Prometheus `conveyor_outbox_events_published_total`). */
  metrics?: { countPublished(type: string): void };
  /**
   * When given, the relay makes the first attempt of the rows it creates, as many as there is
   * room for, and adds jobs only for the others (RELAY_FIRST_ATTEMPT, docs/adr/0024-relay-first-attempt.md).
   */
  firstAttempts?: FirstAttempts;
  /**
   * How long `stop()` waits for first attempts in flight (default 20 s, inside the process's
   * 30 s shutdown grace); the rows of those it leaves are the sweeper's.
   */
  attemptsGraceMs?: number;
}

interface Endpoint {
  id: string;
  eventTypes: string[];
  enabled: boolean;
  deletedAt: Date | null;
}

interface ClaimedRow {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
  command_id: string | null;
  trace_context: TraceCarrier | null;
  /** The address of the user the payload's `userId` names, when there is one (see the claim). */
  user_email: string | null;
}

interface CreatedRow extends NewRow {
  eventId: string;
  /** Inserted by this run of the batch, not listed again from an earlier, interrupted one (which may have a job). */
  fresh: boolean;
}

/** CREATE_ROWS's answer: with a delivery created claimed, the claim's attempt id and its endpoint. */
interface InsertedRow extends Omit<CreatedRow, 'claim'> {
  attemptId: string | null;
  endpoint: SendingRow['endpoint'];
}

/**
 * Turns committed outbox rows into email_messages and webhook_deliveries rows and one job per
 * row, then marks the outbox rows published.
 *
 * Order of work, chosen so that a crash anywhere loses nothing:
 *  1. one transaction claims a batch (`FOR UPDATE SKIP LOCKED`, so relays run side by side)
 *     and inserts the rows it implies (`ON CONFLICT DO NOTHING`: a re-run adds none twice);
 *     it commits before any job exists, so a job never runs ahead of its row;
 *  2. the jobs are added with job id = row id (adding an existing id is a no-op);
 *  3. the outbox rows are marked published.
 * A crash between 1 and 3 re-runs the batch later: no new rows, at worst jobs added again,
 * which the row status turns into no-ops.
 * With `firstAttempts` (ADR 0024), 3 is part of 1's transaction, and 2 starts the first attempt
 * of the rows 1 inserted, as many as there is room for, and adds jobs for the rest: a batch is
 * never run again, so no other relay can list its rows while they are attempted, and a crash
 * after 1 leaves rows pending without a job, which the sweeper restores.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly messageIdDomain: string;
  private listener: pg.PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Polled every second: a streak of failed batches (PostgreSQL down) is a line a minute. */
  private readonly failures: FailureStreak;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 200;
    // Written into the claim's SQL text (a simple query has no parameters).
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${this.batchSize}`);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.messageIdDomain = options.messageIdDomain ?? 'conveyor.local';
    this.failures = new FailureStreak(options.logger, 'relay batch failed; will retry');
  }

  async start(): Promise<void> {
    await this.listen();
    this.timer = setInterval(() => this.wake(), this.pollIntervalMs);
    this.wake();
  }

  /**
   * Stops listening and polling, and waits for the batch in progress and, up to
   * `attemptsGraceMs`, for its first attempts.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      listener.removeAllListeners('notification');
      await listener.query(`unlisten ${OUTBOX_CHANNEL}`).catch(() => undefined);
      listener.release();
    }
    await this.running;
    const { firstAttempts, attemptsGraceMs = 20_000, logger } = this.options;
    if (!firstAttempts) return;
    let timer: NodeJS.Timeout | undefined;
    const cutOff = await Promise.race([
      firstAttempts.idle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), attemptsGraceMs);
      }),
    ]);
    clearTimeout(timer);
    if (cutOff) logger.warn({ attemptsGraceMs }, 'first attempts still running at shutdown: left to the sweeper');
  }

  /** Drains the outbox now (coalesces with a drain already running). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(
        () => this.failures.succeeded(),
        (error: unknown) => this.failures.failed(error),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Relays until the outbox is empty; returns how many events were published. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.relayBatch();
      total += published;
      if (published < this.batchSize || this.stopped) return total;
    }
  }

  /** Relays one batch; returns how many events it published. */
  async relayBatch(): Promise<number> {
    const { events, rows } = await this.claimAndCreateRows();
    if (events.length === 0) return 0;
    // With tracing on, each event's jobs continue the trace of the command that wrote it.
    const spans = new Map<string, ContinuedSpan>();
    for (const event of events) {
      const continued = continueTrace(event.traceContext, `publish ${event.type}`, {
        'conveyor.event.id': event.id,
        'conveyor.event.type': event.type,
        ...(event.commandId ? { 'conveyor.command.id': event.commandId } : {}),
      });
      if (continued) spans.set(event.id, continued);
    }
    try {
      // Each attempt has a span of its own under its event's, as a job has: the command's
      // trace leads to its emails and webhooks either way.
      const { firstAttempts } = this.options;
      // Only the rows this run inserted: one listed again from an interrupted run may have a job.
      // The deliveries created claimed go first: there is room for each of them.
      const queued = firstAttempts
        ? [
            ...firstAttempts.startSome([...rows.filter((row) => row.fresh && row.claim), ...rows.filter((row) => row.fresh && !row.claim)], (row, attempt) => {
              const parent = spans.get(row.eventId)?.span;
              const id = row.kind === 'email' ? { 'conveyor.email.id': row.id } : { 'conveyor.delivery.id': row.id };
              return parent ? inChildSpan(parent, `first attempt ${row.kind}`, id, attempt) : attempt();
            }),
            ...rows.filter((row) => !row.fresh),
          ]
        : rows;
      if (!firstAttempts) {
        await this.enqueue(queued, spans);
        await this.options.pool.query(MARK_PUBLISHED.with([events.map((event) => event.id)]));
      } else {
        // The events were marked published in the claim transaction, so the batch is never run
        // again: jobs that cannot be added (Redis down) leave their rows to the sweeper, and
        // the events are published all the same.
        // Each queue's add on its own: the warning names only the rows whose jobs were not added.
        const kinds = ['email', 'webhook'] as const;
        const added = await Promise.allSettled(kinds.map((kind) => this.enqueueKind(kind, queued, spans)));
        added.forEach((result, index) => {
          const kind = kinds[index];
          if (result.status === 'fulfilled' || !kind) return;
          const error: unknown = result.reason;
          for (const { span } of spans.values()) span.recordException(error as Error);
          this.options.logger.warn(
            { err: error, [kind === 'email' ? 'emailIds' : 'deliveryIds']: idsOf(queued, kind) },
            'jobs of a published batch could not be added; the sweeper restores their rows',
          );
        });
      }
      this.logPublished(events, rows, spans);
    } catch (error) {
      for (const { span } of spans.values()) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      throw error;
    } finally {
      for (const { span } of spans.values()) span.end();
    }
    return events.length;
  }

  /**
   * One line per event, with the rows it became: logs lead from a command to its emails and
   * webhooks. Written inside the event's span, so the line carries its trace id too.
   */
  private logPublished(
    events: OutboxEvent[],
    rows: CreatedRow[],
    spans: ReadonlyMap<string, ContinuedSpan>,
  ): void {
    const { logger, metrics } = this.options;
    const rowsOf = new Map<string, CreatedRow[]>();
    for (const row of rows) rowsOf.set(row.eventId, [...(rowsOf.get(row.eventId) ?? []), row]);
    for (const event of events) {
      const own = rowsOf.get(event.id) ?? [];
      metrics?.countPublished(event.type);
      const fields = {
        eventId: event.id,
        eventType: event.type,
        commandId: event.commandId,
        aggregateId: event.aggregateId,
        emailIds: idsOf(own, 'email'),
        deliveryIds: idsOf(own, 'webhook'),
      };
      const span = spans.get(event.id)?.span;
      if (span) context.with(trace.setSpan(context.active(), span), () => logger.info(fields, 'outbox event published'));
      else logger.info(fields, 'outbox event published');
    }
  }

  /**
   * The claim transaction: BEGIN with the claim and the endpoints (one simple query of three
   * statements), then one statement that inserts the deliveries and the emails and returns every
   * pending row of the batch's events, with COMMIT — two round trips on a pipelining pool (the
   * relay process's), three on any other (`npm start`'s shared pool). The claim also reads the
   * address of the user each event's payload names (`userId`), the recipient of the emails that
   * go to a user (the email policy); an email to a user it did not read costs one more trip. A
   * batch with nothing to claim costs two.
   */
  private async claimAndCreateRows(): Promise<{ events: OutboxEvent[]; rows: CreatedRow[] }> {
    const client = await this.options.pool.connect();
    let broken: Error | undefined;
    try {
      // No parameters, so the three statements go as one simple query; the limit is the
      // relay's own integer.
      const [, claimed, endpoints] = (await client.query(
        `begin;
         with claimed as (
           select id, type, aggregate_type, aggregate_id, payload, occurred_at, command_id, trace_context from outbox_messages
            where published_at is null order by id limit ${this.batchSize} for update skip locked)
         select claimed.*, users.email as user_email from claimed
           -- A userId is read as a user's id only in a UUID's shape: the cast of anything else
           -- would fail the claim, and every batch after it.
           left join users on users.id = case when claimed.payload->>'userId' ~* '${UUID_PATTERN}' then (claimed.payload->>'userId')::uuid end
          order by claimed.id;
         select id, event_types as "eventTypes", enabled, deleted_at as "deletedAt" from webhook_endpoints where deleted_at is null`,
      )) as unknown as [pg.QueryResult, pg.QueryResult<ClaimedRow>, pg.QueryResult<Endpoint>];
      const knownAddresses = new Map<string, string>();
      for (const row of claimed.rows) {
        const userId = row.payload.userId;
        if (row.user_email !== null && typeof userId === 'string') knownAddresses.set(userId, row.user_email);
      }
      const events: OutboxEvent[] = claimed.rows.map((row) => ({
        id: row.id,
        type: row.type,
        aggregateType: row.aggregate_type,
        aggregateId: row.aggregate_id,
        payload: row.payload,
        occurredAt: row.occurred_at,
        commandId: row.command_id,
        traceContext: row.trace_context,
      }));
      if (events.length === 0) {
        await client.query('commit');
        return { events, rows: [] };
      }
      const deliveries = this.deliveriesOf(events, endpoints.rows);
      const emails = await this.emailsOf(client, events, knownAddresses);
      // The deliveries the relay has room to attempt are created claimed for their attempts
      // (the room can only grow until this batch starts them: only the batch starts attempts).
      const startedAt = new Date();
      const room = Math.min(this.options.firstAttempts?.room() ?? 0, deliveries.ids.length);
      const attemptIds = deliveries.ids.map((_, index) => (index < room ? uuidv7() : null));
      // The insert goes out with COMMIT (one round trip on the relay's pipelining pool): should
      // it fail, the COMMIT of the aborted transaction rolls back and its error is thrown. With
      // first attempts the events are marked published in the same transaction: no other relay
      // can claim them between this commit and the attempts (and attempt a row twice), and the
      // batch is never run again; a row left without a job or an attempt is the sweeper's.
      const publish = this.options.firstAttempts ? [MARK_PUBLISHED.with([events.map((event) => event.id)])] : [];
      const [pending] = (await inOrder(
        client,
        CREATE_ROWS.with([
          deliveries.ids,
          deliveries.endpointIds,
          deliveries.eventIds,
          deliveries.types,
          deliveries.bodies,
          emails.map((row) => row.id),
          emails.map((row) => row.eventId),
          emails.map((row) => row.template),
          emails.map((row) => row.to),
          emails.map((row) => row.messageId),
          events.map((event) => event.id),
          attemptIds,
          startedAt,
        ]),
        ...publish,
        'commit',
      )) as [pg.QueryResult<InsertedRow>, ...pg.QueryResult[]];
      // The claimed deliveries are the first `room` the relay built: their columns, by id (none
      // without first attempts).
      const made = new Map(
        deliveries.ids
          .slice(0, room)
          .map((id, index) => [id, { endpoint_id: deliveries.endpointIds[index]!, event_type: deliveries.types[index]!, body: deliveries.bodies[index]! }]),
      );
      return { events, rows: pending.rows.map((row) => created(row, made, startedAt)) };
    } catch (error) {
      // A connection whose prepared statements no longer fit the schema, or that cannot even
      // roll back, is discarded rather than handed to the next batch.
      if (staleStatement(error)) broken = error;
      await client.query('rollback').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** The deliveries the events imply, one per matching endpoint, as the insert's columns. */
  private deliveriesOf(events: OutboxEvent[], endpoints: Endpoint[]) {
    const columns = { ids: [] as string[], endpointIds: [] as string[], eventIds: [] as string[], types: [] as string[], bodies: [] as string[] };
    if (endpoints.length === 0) return columns;
    for (const event of events) {
      const matching = endpointsForEvent(event.type, endpoints);
      if (matching.length === 0) continue;
      const body = this.options.policies.buildWebhookBody(event);
      for (const endpoint of matching) {
        columns.ids.push(uuidv7());
        columns.endpointIds.push(endpoint.id);
        columns.eventIds.push(event.id);
        columns.types.push(event.type);
        columns.bodies.push(body);
      }
    }
    return columns;
  }

  /**
   * The emails the events imply, with their addresses: those the claim read (`known`), and the
   * other users' in one query.
   */
  private async emailsOf(client: pg.PoolClient, events: OutboxEvent[], known: ReadonlyMap<string, string>) {
    const wanted = events.flatMap((event) => emailsForEvent(event).map((email) => ({ event, ...email })));
    if (wanted.length === 0) return [];
    // Only ids in a UUID's shape are looked up: the cast of anything else would fail the batch,
    // and every batch after it. An email to no known user is skipped below.
    const userIds = [
      ...new Set(wanted.flatMap(({ to }) => (to && 'userId' in to && !known.has(to.userId) && isUuid(to.userId) ? [to.userId] : []))),
    ];
    const users =
      userIds.length === 0
        ? []
        : (await client.query<{ id: string; email: string }>(USER_ADDRESSES.with([userIds])))
            .rows;
    const emailOf = new Map([...known, ...users.map((user) => [user.id, user.email] as const)]);
    return wanted.flatMap(({ event, template, to }) => {
      const address = to === null ? undefined : 'address' in to ? to.address : emailOf.get(to.userId);
      if (!address) {
        this.options.logger.warn({ eventId: event.id, template }, 'no recipient for email; skipped');
        return [];
      }
      const id = uuidv7();
      return [{ id, eventId: event.id, template, to: address, messageId: `<${id}@${this.messageIdDomain}>` }];
    });
  }

  /** Adds the rows' jobs, each queue's in one call. */
  private async enqueue(rows: CreatedRow[], spans: ReadonlyMap<string, ContinuedSpan>): Promise<void> {
    await Promise.all([this.enqueueKind('email', rows, spans), this.enqueueKind('webhook', rows, spans)]);
  }

  /** Adds the jobs of the rows of one kind to its queue. */
  private async enqueueKind(kind: CreatedRow['kind'], rows: CreatedRow[], spans: ReadonlyMap<string, ContinuedSpan>): Promise<void> {
    const { emails, webhooks, policies } = this.options;
    // A job carries its event's span as its parent (BullMQ's telemetry metadata).
    const telemetry = (row: CreatedRow) => {
      const metadata = spans.get(row.eventId)?.jobMetadata;
      return metadata ? { telemetry: { metadata } } : {};
    };
    const [queue, options] = kind === 'email' ? [emails, policies.emailJobOptions] : [webhooks, policies.webhookJobOptions];
    const jobs = rows
      .filter((row) => row.kind === kind)
      .map((row) => ({ ...jobOf(row), opts: { ...options, jobId: row.id, ...telemetry(row) } }));
    await addJobs(queue, jobs);
  }

  private async listen(): Promise<void> {
    const client = await this.options.pool.connect();
    client.on('notification', () => this.wake());
    client.on('error', (error) => {
      // The poll keeps the relay going; try to listen again on a new connection.
      this.options.logger.warn({ err: error }, 'outbox LISTEN connection lost; relying on polling');
      if (this.listener === client) {
        this.listener = undefined;
        client.release(error);
        this.listenLater();
      }
    });
    try {
      await client.query(`listen ${OUTBOX_CHANNEL}`);
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    this.listener = client;
  }

  /** Tries to LISTEN again after a poll interval, and again after that, until it works. */
  private listenLater(): void {
    setTimeout(() => {
      if (this.stopped || this.listener) return;
      this.listen().catch((error: unknown) => {
        this.options.logger.debug({ err: error }, 'outbox LISTEN not possible yet; will try again');
        this.listenLater();
      });
    }, this.pollIntervalMs).unref();
  }
}

/**
 * A row as the batch hands it on: a delivery created claimed carries its claim, with the row as
 * an attempt's claim would read it (pending, no attempt yet, the body the relay built).
 */
function created(
  row: InsertedRow,
  made: ReadonlyMap<string, Pick<SendingRow, 'endpoint_id' | 'event_type' | 'body'>>,
  startedAt: Date,
): CreatedRow {
  const { attemptId, endpoint, ...rest } = row;
  const delivery = made.get(row.id);
  if (attemptId === null || delivery === undefined) return rest;
  const sending: SendingRow = { id: row.id, event_id: row.eventId, ...delivery, status: 'pending', attempts: 0, claimed: true, endpoint };
  return { ...rest, claim: { attemptId, startedAt, row: sending } };
}

/** A row's job: its name and data. */
function jobOf(row: CreatedRow): { name: string; data: EmailJobData | WebhookJobData } {
  return row.kind === 'email'
    ? { name: EMAIL_JOB_NAME, data: { emailId: row.id } satisfies EmailJobData }
    : { name: WEBHOOK_JOB_NAME, data: { deliveryId: row.id } satisfies WebhookJobData };
}

/** The ids of the rows of one kind. */
function idsOf(rows: readonly CreatedRow[], kind: CreatedRow['kind']): string[] {
  return rows.filter((row) => row.kind === kind).map((row) => row.id);
}

/**
 * Adds a batch's jobs to one queue. A single untraced job goes by `add`: `addBulk` sends the
 * same script, but through an ioredis pipeline, and making one copies every script BullMQ
 * defines onto it — 7 % of the relay's CPU at 50 orders a second, where most batches hold one
 * event (docs/benchmarks.md, twentieth pass). A traced job goes by `addBulk` whatever the
 * count: `add` would parent it to a producer span of its own instead of its event's publish span.
 */
async function addJobs(queue: Queue, jobs: readonly { name: string; data: unknown; opts: JobsOptions }[]): Promise<void> {
  const [only] = jobs;
  if (jobs.length === 1 && only && only.opts.telemetry === undefined) await queue.add(only.name, only.data, only.opts);
  else if (jobs.length > 0) await queue.addBulk([...jobs]);
}
