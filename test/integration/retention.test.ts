import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commandJob, type CommandPayload, type CommandType } from '../../queues/commands.js';
import { EMAIL_JOB_NAME, emailJobOptions } from '../../queues/emails.js';
import { RETENTION_SCHEDULER_ID } from '../../queues/maintenance.js';
import { systemClock } from '../../src/application/clock.js';
import { RETAINED_TABLES, type RetentionKind, type RetentionStore } from '../../src/application/retention/ports.js';
import { PruneExpiredRecords, type RetentionAges } from '../../src/application/retention/prune-expired-records.js';
import type { Schedule } from '../../src/application/scheduling/schedule.js';
import { PgRetentionStore } from '../../src/infrastructure/retention/pg-retention-store.js';
import { PostgresScheduleRepository } from '../../src/infrastructure/scheduling/postgres-schedule-repository.js';
import { createInfrastructure, type Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { retentionAges, startRetention } from '../../src/main/roles/retention.js';
import { testConfig } from '../support/config.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';
import { waitFor } from '../support/wait.js';

// Retention on a real PostgreSQL (and, for its scheduler and worker, a real Redis): which rows
// go, which stay, in batches, one run at a time, counted in /metrics — and what the
// processed-command window protects: a redelivered command job.

let db: OrmFixture;

beforeAll(async () => {
  db = await ormOnFreshDatabase();
});

afterAll(async () => {
  await db.close();
});

const TABLES = [...RETAINED_TABLES, 'schedules'];

beforeEach(async () => {
  await db.pool.query(`truncate ${TABLES.join(', ')}`);
});

const DAY = 86_400_000;
const TEN_DAYS: RetentionAges = {
  emails: 10 * DAY,
  webhookDeliveries: 10 * DAY,
  outbox: 10 * DAY,
  processedCommands: 10 * DAY,
  gaveUpCommands: 10 * DAY,
  scheduleRuns: 10 * DAY,
};

/** `days` ago as an SQL expression (fractions allowed). */
const ago = (days: number | null) => (days === null ? 'null' : `now() - interval '${days * 86_400} seconds'`);

async function outbox(published: number | null, occurred = published ?? 20): Promise<string> {
  const id = newId();
  await db.pool.query(
    `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, published_at)
     values ($1, 'order.placed', 'order', $1, '{}', ${ago(occurred)}, ${ago(published)})`,
    [id],
  );
  return id;
}

async function email(status: string, created: number, finished: number | null, eventId = newId()): Promise<string> {
  const id = newId();
  await db.pool.query(
    `insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at, finished_at)
     values ($1, $2, 'welcome', 'ann@example.com', $3, $4, 1, ${ago(created)}, ${ago(finished)})`,
    [id, eventId, `<${id}@conveyor.local>`, status],
  );
  return id;
}

async function delivery(status: string, created: number, attempts: number[], eventId = newId()): Promise<{ id: string; attempts: string[] }> {
  const id = newId();
  await db.pool.query(
    `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at)
     values ($1, $2, $3, 'order.placed', '{}', $4, $5, ${ago(created)})`,
    [id, newId(), eventId, status, attempts.length],
  );
  const attemptIds: string[] = [];
  for (const at of attempts) {
    const attemptId = newId();
    attemptIds.push(attemptId);
    await db.pool.query(
      `insert into webhook_delivery_attempts (id, delivery_id, attempted_at, status_code, duration_ms)
       values ($1, $2, ${ago(at)}, 500, 12)`,
      [attemptId, id],
    );
  }
  return { id, attempts: attemptIds };
}

async function processed(days: number, count = 1): Promise<string[]> {
  const { rows } = await db.pool.query<{ command_id: string }>(
    `insert into processed_commands (command_id, command_type, status, result, processed_at)
     select gen_random_uuid(), 'RegisterUser', 'succeeded', '{}', ${ago(days)} from generate_series(1, $1)
     returning command_id`,
    [count],
  );
  return rows.map((row) => row.command_id);
}

/** A command that gave up `gaveUp` days ago, retried `retried` days ago (or never). */
async function gaveUp(gaveUpDays: number, retriedDays: number | null = null): Promise<string> {
  const id = newId();
  await db.pool.query(
    `insert into gave_up_commands (command_id, command_type, aggregate_key, payload, error, attempts, gave_up_at, retried_at)
     values ($1, 'RestockProduct', null, '{}', '{"message":"boom"}', 40, ${ago(gaveUpDays)}, ${ago(retriedDays)})`,
    [id],
  );
  return id;
}

/** A run of `scheduleId` recorded `days` ago. */
async function scheduleRun(scheduleId: string, days: number): Promise<string> {
  const id = newId();
  await db.pool.query(
    `insert into schedule_runs (command_id, schedule_id, due_at, created_at) values ($1, $2, ${ago(days)}, ${ago(days)})`,
    [id, scheduleId],
  );
  return id;
}

async function ids(table: string): Promise<string[]> {
  const key = ['processed_commands', 'gave_up_commands', 'schedule_runs'].includes(table) ? 'command_id' : 'id';
  const { rows } = await db.pool.query<{ id: string }>(`select ${key} as id from ${table} order by 1`);
  return rows.map((row) => row.id);
}

const prune = (ages: RetentionAges = TEN_DAYS, batchSize = 1000, store: RetentionStore = new PgRetentionStore(db.pool)) =>
  new PruneExpiredRecords(store, ages, systemClock, { batchSize }).execute();

describe('a retention run', () => {
  it('removes exactly the rows that outlived their retention, and nothing younger or pending', async () => {
    // Emails: settled more than 10 days ago go; pending, younger, and resent ones stay.
    const sentOld = await email('sent', 11, 11);
    const failedOld = await email('failed', 20, 20);
    const settledBeforeFinishedAt = await email('sent', 11, null);
    const pendingOld = await email('pending', 20, null);
    const sentYoung = await email('sent', 9, 9);
    const justYounger = await email('sent', 9.99, 9.99);
    const resent = await email('sent', 20, 1);

    // Deliveries: settled and not attempted for 10 days go, with their attempts.
    const deliveredOld = await delivery('delivered', 11, [11]);
    const failedOldDelivery = await delivery('failed', 11, [11, 10.5]);
    const failedUnattempted = await delivery('failed', 11, []);
    const replayed = await delivery('failed', 11, [11, 1]);
    const deliveredYoung = await delivery('delivered', 9, [9]);

    // Outbox: published 10+ days ago and needed by nothing.
    const unneeded = await outbox(11);
    const heldByPendingDelivery = await outbox(11);
    const pendingDelivery = await delivery('pending', 20, [], heldByPendingDelivery);
    const heldByEmail = await outbox(11);
    await db.pool.query('update email_messages set event_id = $1 where id = $2', [heldByEmail, resent]);
    const freedByEmail = await outbox(11);
    await db.pool.query('update email_messages set event_id = $1 where id = $2', [freedByEmail, sentOld]);
    const deliveredOnly = await outbox(11);
    await db.pool.query('update webhook_deliveries set event_id = $1 where id = $2', [deliveredOnly, deliveredYoung.id]);
    const unpublished = await outbox(null, 20);
    const publishedYoung = await outbox(9);

    const [processedOld] = await processed(11);
    const [processedYoung] = await processed(9);

    const report = await prune();

    expect(await ids('email_messages')).toEqual([pendingOld, sentYoung, justYounger, resent].sort());
    expect(await ids('webhook_deliveries')).toEqual([replayed.id, deliveredYoung.id, pendingDelivery.id].sort());
    expect(await ids('webhook_delivery_attempts')).toEqual([...replayed.attempts, ...deliveredYoung.attempts].sort());
    expect(await ids('outbox_messages')).toEqual([heldByPendingDelivery, heldByEmail, unpublished, publishedYoung].sort());
    expect(await ids('processed_commands')).toEqual([processedYoung]);
    expect(report).toEqual({
      outcome: 'completed',
      batches: expect.any(Number),
      deleted: {
        email_messages: 3,
        webhook_deliveries: 3,
        webhook_delivery_attempts: 3,
        outbox_messages: 3,
        processed_commands: 1,
        gave_up_commands: 0,
        schedule_runs: 0,
      },
    });
    const left = (await Promise.all(RETAINED_TABLES.map(ids))).flat();
    const gone = [sentOld, failedOld, settledBeforeFinishedAt, deliveredOld.id, failedOldDelivery.id, failedUnattempted.id];
    for (const id of [...gone, unneeded, freedByEmail, deliveredOnly, processedOld]) expect(left).not.toContain(id);
    // Nothing is left that a second run would take.
    expect(await prune()).toMatchObject({ deleted: Object.fromEntries(RETAINED_TABLES.map((table) => [table, 0])) });
  });

  it('removes commands that gave up and runs of schedules once they outlived their retention, and keeps the schedule', async () => {
    const gaveUpOld = await gaveUp(11);
    const retriedOld = await gaveUp(20, 11);
    const retriedSince = await gaveUp(20, 1);
    const gaveUpYoung = await gaveUp(9);

    const schedules = new PostgresScheduleRepository(db.pool);
    const schedule: Schedule = {
      id: newId(),
      name: 'nightly restock',
      recurrence: { every: 86_400 },
      command: { type: 'RestockProduct', body: { productId: newId(), quantity: 1 } },
      createdAt: new Date(Date.now() - 40 * DAY),
    };
    await schedules.add(schedule);
    const runs: string[] = [];
    for (let days = 1; days <= 40; days += 1) runs.push(await scheduleRun(schedule.id, days));

    const report = await prune();

    expect(await ids('gave_up_commands')).toEqual([retriedSince, gaveUpYoung].sort());
    expect(await ids('gave_up_commands')).not.toContain(gaveUpOld);
    expect(await ids('gave_up_commands')).not.toContain(retriedOld);
    // What GET /v1/schedules/{id}/runs lists: the nine runs of the last ten days, newest first.
    expect((await schedules.runs(schedule.id, 100)).map((run) => run.commandId)).toEqual(runs.slice(0, 9));
    expect(await schedules.find(schedule.id)).not.toBeNull();
    expect(report).toMatchObject({ deleted: { gave_up_commands: 2, schedule_runs: 31 } });
  });

  it('deletes in batches, walking past rows that must stay without reading them again', async () => {
    await processed(40, 2345);
    const young = await processed(1, 10);
    // 1,500 events still needed by their (young) emails, published before 400 that are not.
    await db.pool.query(
      `with events as (
         insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, published_at)
         select id, 'user.registered', 'user', id, '{}', now() - interval '40 days', now() - interval '40 days' + n * interval '1 ms'
           from (select gen_random_uuid() as id, n from generate_series(1, 1500) n) e
         returning id)
       insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at, finished_at)
       select gen_random_uuid(), id, 'welcome', 'ann@example.com', '<' || id || '@x>', 'sent', 1, now(), now() from events`,
    );
    await db.pool.query(
      `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, published_at)
       select gen_random_uuid(), 'product.added', 'product', gen_random_uuid(), '{}', now() - interval '39 days', now() - interval '39 days'
         from generate_series(1, 400)`,
    );

    const batches: Partial<Record<RetentionKind, number>> = {};
    const real = new PgRetentionStore(db.pool);
    const counting: RetentionStore = {
      exclusively: (run) => real.exclusively(run),
      pruneBatch: (kind, ...rest) => {
        batches[kind] = (batches[kind] ?? 0) + 1;
        return real.pruneBatch(kind, ...rest);
      },
    };
    const report = await prune(TEN_DAYS, 1000, counting);

    expect(report).toMatchObject({ outcome: 'completed', deleted: { processed_commands: 2345, outbox_messages: 400 } });
    expect(batches.processedCommands).toBe(3);
    expect(batches.outbox).toBe(2);
    expect(await ids('processed_commands')).toEqual([...young].sort());
    expect((await db.pool.query('select count(*)::int as n from outbox_messages')).rows[0]).toEqual({ n: 1500 });
  });

  it('skips a row someone holds locked, and takes it in a later run', async () => {
    const busy = await email('failed', 20, 20);
    await email('failed', 20, 20);
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('select id from email_messages where id = $1 for update', [busy]);
      const report = await prune();
      expect(report).toMatchObject({ deleted: { email_messages: 1 } });
      expect(await ids('email_messages')).toEqual([busy]);
      await holder.query('commit');
    } finally {
      holder.release();
    }
    await prune();
    expect(await ids('email_messages')).toEqual([]);
  });

  it('does nothing while another process runs one (the advisory lock)', async () => {
    await email('sent', 20, 20);
    const other = await db.pool.connect();
    try {
      await other.query('select pg_advisory_lock(1668247158, 1919251566)');
      await expect(prune()).resolves.toEqual({ outcome: 'skipped' });
      expect(await ids('email_messages')).toHaveLength(1);
      await other.query('select pg_advisory_unlock(1668247158, 1919251566)');
    } finally {
      other.release();
    }
    await expect(prune()).resolves.toMatchObject({ outcome: 'completed', deleted: { email_messages: 1 } });
  });
});

/** Stops the role a test started, empties its queues and closes its connections. */
async function shutDown(worker: RunningWorker | undefined, infra: Infrastructure | undefined): Promise<void> {
  await worker?.stop(5000);
  if (!infra) return;
  for (const queue of Object.values(infra.queues)) await queue.obliterate({ force: true });
  await infra.close();
}

describe('the retention role', () => {
  let infra: Infrastructure | undefined;
  let retention: RunningWorker | undefined;

  afterAll(() => shutDown(retention, infra));

  it('runs from a job scheduler on the maintenance queue, ages in seconds, and counts what it deletes in /metrics', async () => {
    await Promise.all([email('sent', 1, 1), email('failed', 1, 1), email('sent', 1, 1)]);
    const oldEvent = await outbox(1);
    await processed(31);
    const [keptOutcome] = await processed(29);

    infra = await createInfrastructure(
      testConfig(db.url, {
        RETENTION_EMAILS: '30s',
        RETENTION_OUTBOX: '30s',
        RETENTION_WEBHOOK_DELIVERIES: '30s',
        RETENTION_INTERVAL: '1s',
        METRICS_PORT: '0',
      }),
      'relay',
      { serveMetrics: true },
    );
    retention = startRetention(infra);
    // Young enough to stay through this test's runs (30 s).
    const young = await email('sent', 0, 0);

    // Outcomes are the last kind a run deletes: once the old one is gone, the first run is over.
    await waitFor(async () => (await ids('processed_commands')).length === 1, 15_000, 'the first run');
    expect(await ids('email_messages')).toEqual([young]);
    expect(await ids('outbox_messages')).not.toContain(oldEvent);
    expect(await ids('processed_commands')).toEqual([keptOutcome]);

    const scheduler = await infra.queues.maintenance.getJobScheduler(RETENTION_SCHEDULER_ID);
    expect(scheduler).toMatchObject({ every: 1000 });

    const url = `http://127.0.0.1:${infra.metricsServer?.port ?? 0}/metrics`;
    const metric = (text: string, line: string) => Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').at(-1));
    // The schedule repeats: a second run (deleting nothing) follows within the interval.
    const text = await waitFor(async () => {
      const body = await (await fetch(url)).text();
      return metric(body, 'conveyor_retention_runs_total{outcome="completed"}') >= 2 ? body : undefined;
    }, 15_000, 'two retention runs');
    expect(metric(text, 'conveyor_retention_deleted_rows_total{table="email_messages"}')).toBe(3);
    expect(metric(text, 'conveyor_retention_deleted_rows_total{table="outbox_messages"}')).toBe(1);
    expect(metric(text, 'conveyor_retention_deleted_rows_total{table="processed_commands"}')).toBe(1);
    expect(metric(text, 'conveyor_retention_deleted_rows_total{table="webhook_deliveries"}')).toBe(0);
  });
});

describe('finished jobs in Redis', () => {
  it('are kept as long as the configuration says, whoever adds the job', async () => {
    const infra = await createInfrastructure(
      testConfig(db.url, { RETENTION_EMAIL_JOBS_COMPLETED: '5m', RETENTION_EMAIL_JOBS_FAILED: '2d', RETENTION_COMMAND_JOBS_FAILED: '3d' }),
      'relay',
    );
    try {
      // As the relay and the sweeper add them: the contract's options, with the job id.
      const id = newId();
      const job = await infra.queues.emails.add(EMAIL_JOB_NAME, { emailId: id }, { ...emailJobOptions, jobId: id, delay: 60_000 });
      expect(job.opts).toMatchObject({
        attempts: 8,
        removeOnComplete: { age: 300, count: 10_000 },
        removeOnFail: { age: 2 * 86_400, count: 50_000 },
      });
      expect(infra.queues.commands.defaultJobOptions).toMatchObject({ attempts: 40, removeOnFail: { age: 3 * 86_400 } });
      expect(infra.queues.webhooks.defaultJobOptions).toMatchObject({ removeOnComplete: { age: 86_400 }, removeOnFail: { age: 7 * 86_400 } });
    } finally {
      await shutDown(undefined, infra);
    }
  });
});

describe('the processed-command window', () => {
  let infra: Infrastructure | undefined;
  let worker: RunningWorker | undefined;

  afterAll(() => shutDown(worker, infra));

  it('keeps a redelivered command job applied once while its row is within the window', async () => {
    infra = await createInfrastructure(testConfig(db.url), 'worker');
    worker = startCommandWorker(infra);
    const commands = infra.queues.commands;
    const productId = newId();

    /** Adds the command's job (again: a redelivery, after the finished one is gone) and waits for it. */
    const run = async <T extends CommandType>(type: T, payload: CommandPayload<T>) => {
      const job = commandJob(type, payload);
      await commands.remove(job.opts.jobId);
      await commands.add(job.name, job.data, job.opts);
      await waitFor(async () => (await commands.getJobState(job.opts.jobId)) === 'completed', 15_000, `${type} completed`);
    };
    const stock = async () => (await db.pool.query<{ stock: number }>('select stock from products where id = $1', [productId])).rows[0]?.stock;

    const added = { commandId: newId(), productId, sku: `SKU-${productId.slice(-8)}`, name: 'Mug', price: { amount: '12.50', currency: 'EUR' }, stock: 10 };
    const withinWindow = { commandId: newId(), productId, quantity: 5 };
    const pastWindow = { commandId: newId(), productId, quantity: 7 };
    await run('AddProduct', added);
    await run('RestockProduct', withinWindow);
    await run('RestockProduct', pastWindow);
    expect(await stock()).toBe(22);

    // The default window is 30 days: one outcome is 29 days old, the other 31.
    await db.pool.query(`update processed_commands set processed_at = now() - interval '29 days' where command_id = $1`, [withinWindow.commandId]);
    await db.pool.query(`update processed_commands set processed_at = now() - interval '31 days' where command_id = $1`, [pastWindow.commandId]);
    const { retention } = infra.config;
    await new PruneExpiredRecords(new PgRetentionStore(db.pool), retentionAges(retention), systemClock, {
      batchSize: retention.batchSize,
    }).execute();
    expect(await ids('processed_commands')).toEqual([added.commandId, withinWindow.commandId].sort());

    await run('RestockProduct', withinWindow);
    expect(await stock()).toBe(22);
    // Past the window the same redelivery runs the command again: why the window may never be
    // shorter than a job of the command can still run (the configuration refuses it).
    await run('RestockProduct', pastWindow);
    expect(await stock()).toBe(29);
  });
});
