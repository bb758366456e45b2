import type { Job, QueueEvents } from 'bullmq';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/application/clock.js';
import { ListCommands } from '../../src/application/commerce/triage/list-commands.js';
import type { CommandFilter, ListedCommand } from '../../src/application/commerce/triage/ports.js';
import { RetryCommands } from '../../src/application/commerce/triage/retry-commands.js';
import { BullMqCommandRequeue } from '../../src/infrastructure/queue/bullmq-command-requeue.js';
import { Sweeper } from '../../src/infrastructure/relay/sweeper.js';
import { PgCommandRecords } from '../../src/infrastructure/triage/pg-command-records.js';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { commandJob, type CommandPayload, type CommandType } from '../../queues/commands.js';
import { infrastructureOnFreshDatabase, queueEventsOf } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';
import { waitFor } from '../support/wait.js';

// Command triage on the real thing: the command worker (COMMAND_ATTEMPTS=2) on PostgreSQL and
// Redis, commands made to give up by an infrastructure error (the orders table renamed away),
// listed and retried through the real adapters; the sweeper's copy from BullMQ's failed set;
// and the listing's keyset walk over 1,000 rows while more arrive.

let infra: Infrastructure;
let worker: RunningWorker;
let events: QueueEvents;
let records: PgCommandRecords;
let list: ListCommands;
let retry: RetryCommands;

beforeAll(async () => {
  infra = await infrastructureOnFreshDatabase({ COMMAND_ATTEMPTS: '2' });
  worker = startCommandWorker(infra);
  events = await queueEventsOf(infra, 'commands');
  records = new PgCommandRecords(infra.pool);
  list = new ListCommands(records);
  retry = new RetryCommands(records, new BullMqCommandRequeue(infra.queues.commands), systemClock);
});

afterAll(async () => {
  await worker?.stop(5000);
  await events?.close();
  await infra?.close();
});

const sql = async <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  (await infra.pool.query(query, params)).rows as T[];

/** The API key the commands of these tests were sent with. */
const SENDER = { keyId: '01930000-0000-7000-8000-0000000000aa', name: 'triage-test' };

async function send<T extends CommandType>(type: T, payload: CommandPayload<T>): Promise<Job> {
  const job = commandJob(type, payload, { sentBy: SENDER });
  return infra.queues.commands.add(job.name, job.data, job.opts);
}

async function settle(job: Job): Promise<string> {
  await job.waitUntilFinished(events, 20_000).catch(() => undefined);
  return infra.queues.commands.getJobState(job.id!);
}

/** Every listed command matching `filter`, walked page by page. */
async function listAll(filter: CommandFilter, limit = 100): Promise<ListedCommand[]> {
  const all: ListedCommand[] = [];
  let cursor: string | undefined;
  do {
    const page = await list.execute({ filter, limit, cursor });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/** Orders cannot be written while the table is renamed away: PlaceOrder fails with an infrastructure error. */
const ordersAway = () => sql('alter table orders rename to orders_away');
const ordersBack = () => sql('alter table orders_away rename to orders');

async function seed(stock: number): Promise<{ userId: string; productId: string }> {
  const userId = newId();
  const productId = newId();
  await settle(await send('RegisterUser', { commandId: newId(), userId, email: `${userId}@example.com`, name: 'Ann' }));
  await settle(
    await send('AddProduct', { commandId: newId(), productId, sku: `T-${productId.slice(-12)}`, name: 'Widget', price: { amount: '1.00', currency: 'EUR' }, stock }),
  );
  return { userId, productId };
}

async function placeOrders(n: number, userId: string, productId: string): Promise<{ commandIds: string[]; orderIds: string[]; jobs: Job[] }> {
  const orderIds = Array.from({ length: n }, () => newId());
  const commandIds = orderIds.map(() => newId());
  const jobs = await Promise.all(
    orderIds.map((orderId, i) => send('PlaceOrder', { commandId: commandIds[i]!, orderId, userId, items: [{ productId, quantity: 1 }] })),
  );
  return { commandIds, orderIds, jobs };
}

const statuses = async (commandIds: string[]) =>
  Object.fromEntries((await listAll({})).filter((item) => commandIds.includes(item.commandId)).map((item) => [item.commandId, item.status]));

describe('commands that gave up', () => {
  it('are recorded by the worker, listed as gave_up, and a retry applies each once under its own id; domain failures are skipped', async () => {
    const { userId, productId } = await seed(100);
    const since = new Date();
    await ordersAway();
    const placed = await placeOrders(5, userId, productId);
    const refused = newId();
    const refusedJob = await send('RestockProduct', { commandId: refused, productId: newId(), quantity: 1 });
    expect(await Promise.all([...placed.jobs, refusedJob].map(settle))).toEqual(Array(6).fill('failed'));
    await waitFor(async () => (await sql('select 1 from gave_up_commands where command_id = any($1)', [placed.commandIds])).length === 5);

    const listed = await listAll({ since });
    expect(listed.map((item) => [item.status, item.type]).sort()).toEqual([
      ['failed', 'RestockProduct'],
      ...Array(5).fill(['gave_up', 'PlaceOrder']),
    ]);
    const gaveUp = listed.find((item) => item.status === 'gave_up')!;
    expect(gaveUp).toMatchObject({ attempts: 2, error: { code: 'infrastructure_error', message: expect.stringMatching(/orders/) }, retriedAt: null });
    expect(placed.orderIds.map((id) => `order:${id}`)).toContain(gaveUp.aggregate);
    expect(listed.find((item) => item.status === 'failed')).toMatchObject({ commandId: refused, attempts: 1, error: { code: 'product_not_found' } });
    expect((await list.execute({ filter: { since, errorCode: 'infrastructure_error' } })).items).toHaveLength(5);

    await ordersBack();
    // A dry run counts and changes nothing.
    expect(await retry.execute({ filter: { since }, dryRun: true })).toEqual({ matched: 6, retried: 5, skipped: 1, dryRun: true });
    expect(await statuses(placed.commandIds)).toEqual(Object.fromEntries(placed.commandIds.map((id) => [id, 'gave_up'])));
    expect(await Promise.all(placed.commandIds.map((id) => infra.queues.commands.getJobState(id)))).toEqual(Array(5).fill('failed'));

    // One job is gone from Redis (its retention ended): the retry adds it again from the stored payload.
    await (await infra.queues.commands.getJob(placed.commandIds[0]!))!.remove();
    const refusedAt = (await sql<{ processed_at: Date }>('select processed_at from processed_commands where command_id = $1', [refused]))[0];
    expect(await retry.execute({ filter: { since }, dryRun: false })).toEqual({ matched: 6, retried: 5, skipped: 1, dryRun: false });
    await waitFor(async () => Object.values(await statuses(placed.commandIds)).every((status) => status === 'succeeded'), 20_000);

    // Who sent them is kept through the give-up and the retry, from the failed job or, for the one
    // whose job was gone, from the stored payload.
    expect(await sql('select distinct sent_by from processed_commands where command_id = any($1)', [placed.commandIds])).toEqual([{ sent_by: 'triage-test' }]);
    // Each applied once: an order each, five units gone, one order.placed event each.
    expect(await sql('select count(*)::int as n from orders where id = any($1)', [placed.orderIds])).toEqual([{ n: 5 }]);
    expect(await sql('select stock from products where id = $1', [productId])).toEqual([{ stock: 95 }]);
    expect(await sql(`select count(*)::int as n from outbox_messages where type = 'order.placed' and aggregate_id = any($1)`, [placed.orderIds])).toEqual([
      { n: 5 },
    ]);
    // The domain failure was not run again.
    expect(await sql('select processed_at from processed_commands where command_id = $1', [refused])).toEqual([refusedAt]);
    expect(await infra.queues.commands.getJobState(refused)).toBe('failed');

    const after = await listAll({ since, status: 'succeeded' });
    expect(after).toHaveLength(5);
    // Two attempts before the retry, one after; and when it was retried.
    for (const item of after) expect(item).toMatchObject({ attempts: 3, retriedAt: expect.any(Date) });
    expect(await retry.execute({ filter: { since }, dryRun: false })).toEqual({ matched: 6, retried: 0, skipped: 6, dryRun: false });
  });

  it('gives up again after a retry: listed as gave_up once more, with every attempt counted', async () => {
    const { userId, productId } = await seed(10);
    await ordersAway();
    const { commandIds, jobs } = await placeOrders(1, userId, productId);
    const [commandId] = commandIds as [string];
    await settle(jobs[0]!);
    await waitFor(async () => (await statuses([commandId]))[commandId] === 'gave_up');

    expect(await retry.execute({ filter: { commandId }, dryRun: false })).toMatchObject({ matched: 1, retried: 1 });
    expect(await statuses([commandId])).toEqual({ [commandId]: 'retrying' });
    await waitFor(async () => (await statuses([commandId]))[commandId] === 'gave_up', 20_000);
    expect((await list.execute({ filter: { commandId } })).items[0]).toMatchObject({ attempts: 4, retriedAt: null });

    await ordersBack();
    await retry.execute({ filter: { commandId }, dryRun: false });
    await waitFor(async () => (await statuses([commandId]))[commandId] === 'succeeded', 20_000);
    expect((await list.execute({ filter: { commandId } })).items[0]).toMatchObject({ attempts: 5 });
  });

  it("are copied from BullMQ's failed set by the sweeper when the worker could not record them, once", async () => {
    const { userId, productId } = await seed(10);
    await ordersAway();
    const { commandIds, jobs } = await placeOrders(3, userId, productId);
    await Promise.all(jobs.map(settle));
    await waitFor(async () => (await sql('select 1 from gave_up_commands where command_id = any($1)', [commandIds])).length === 3);
    await ordersBack();
    // As if PostgreSQL had been down when they gave up.
    await sql('delete from gave_up_commands where command_id = any($1)', [commandIds]);

    const sweeper = new Sweeper({
      pool: infra.pool,
      emails: infra.queues.emails,
      webhooks: infra.queues.webhooks,
      commands: infra.queues.commands,
      emailJobOptions: {},
      webhookJobOptions: {},
      logger: infra.logger,
    });
    // Only these three: the domain failures, the retried commands and those already recorded stay as they are.
    expect(await sweeper.recordGaveUp(infra.queues.commands)).toBe(3);
    expect(await statuses(commandIds)).toEqual(Object.fromEntries(commandIds.map((id) => [id, 'gave_up'])));
    expect(await sql('select attempts, aggregate_key from gave_up_commands where command_id = $1', [commandIds[0]])).toEqual([
      { attempts: 2, aggregate_key: expect.stringMatching(/^order:/) },
    ]);
    expect(await sweeper.recordGaveUp(infra.queues.commands)).toBe(0);
    expect(await sql(`select count(*)::int as n from gave_up_commands where command_type <> 'PlaceOrder'`)).toEqual([{ n: 0 }]);

    // Retention deleted them (they gave up longer ago than RETENTION_GAVE_UP_COMMANDS, here a
    // second) while their failed jobs are still in Redis: a restarted relay's first pass, which
    // reads the whole failed set, does not bring them back.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const deleted = await sql(`delete from gave_up_commands where command_id = any($1) and gave_up_at < now() - interval '1 second' returning 1`, [commandIds]);
    expect(deleted).toHaveLength(3);
    const restarted = new Sweeper({
      pool: infra.pool,
      emails: infra.queues.emails,
      webhooks: infra.queues.webhooks,
      commands: infra.queues.commands,
      gaveUpKeptMs: 1000,
      emailJobOptions: {},
      webhookJobOptions: {},
      logger: infra.logger,
    });
    expect(await restarted.recordGaveUp(infra.queues.commands)).toBe(0);
    expect(await sql('select command_id from gave_up_commands where command_id = any($1)', [commandIds])).toEqual([]);
  });
});

describe('the command listing', () => {
  // Rows of their own, in 2025, so the commands of the other tests are not among them.
  const base = Date.parse('2025-06-01T00:00:00.000Z');

  async function insertRows(n: number, at: (i: number) => Date): Promise<string[]> {
    const ids = Array.from({ length: n }, () => uuidv7());
    const outcomes = ids.flatMap((id, i) => (i % 4 === 3 ? [] : [{ id, at: at(i).toISOString(), status: i % 4 === 2 ? 'failed' : 'succeeded' }]));
    const gaveUp = ids.flatMap((id, i) => (i % 4 === 3 ? [{ id, at: at(i).toISOString(), retried: i % 8 === 7 }] : []));
    await sql(
      `insert into processed_commands (command_id, command_type, status, error, processed_at, attempts, aggregate_key)
       select id, 'ConfirmOrder', status, case when status = 'failed' then '{"code":"invalid_transition","message":"no"}'::jsonb end, at, 1, 'order:' || id
         from jsonb_to_recordset($1::jsonb) as t(id uuid, at timestamptz, status text)`,
      [JSON.stringify(outcomes)],
    );
    await sql(
      `insert into gave_up_commands (command_id, command_type, aggregate_key, payload, error, attempts, gave_up_at, retried_at)
       select id, 'ShipOrder', 'order:' || id, '{}', '{"code":"infrastructure_error","message":"down"}', 2, at, case when retried then at end
         from jsonb_to_recordset($1::jsonb) as t(id uuid, at timestamptz, retried boolean)`,
      [JSON.stringify(gaveUp)],
    );
    return ids;
  }

  it('returns each of 1,000 commands exactly once, in order, while new ones are recorded', async () => {
    // Ten commands share each millisecond: the id breaks the ties.
    const seeded = await insertRows(1000, (i) => new Date(base + Math.floor(i / 10)));
    let stop = false;
    let arrived = 0;
    const arrivals = (async () => {
      while (!stop) {
        // New commands, newer than all of them and a few in between (a worker's clock behind the others').
        await insertRows(5, (i) => new Date(i === 0 ? base + 50 + (arrived % 40) : Date.now()));
        arrived += 5;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const walked: ListedCommand[] = [];
    let cursor: string | undefined;
    let pages = 0;
    try {
      do {
        const page = await list.execute({ filter: { until: new Date(base + 1000) }, limit: 37, cursor });
        walked.push(...page.items);
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor);
    } finally {
      stop = true;
      await arrivals;
    }
    expect(arrived).toBeGreaterThan(0);
    const ids = walked.map((item) => item.commandId);
    expect(new Set(ids).size).toBe(ids.length);
    const walkedIds = new Set(ids);
    expect(seeded.filter((id) => !walkedIds.has(id))).toEqual([]);
    for (let i = 1; i < walked.length; i += 1) {
      const [a, b] = [walked[i - 1]!, walked[i]!];
      expect(a.finishedAt > b.finishedAt || (a.finishedAt.getTime() === b.finishedAt.getTime() && a.commandId > b.commandId)).toBe(true);
    }
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(1000 / 37));
    const byStatus = (status: string) => walked.filter((item) => seeded.includes(item.commandId) && item.status === status).length;
    expect([byStatus('succeeded'), byStatus('failed'), byStatus('gave_up'), byStatus('retrying')]).toEqual([500, 250, 125, 125]);
  });

  it('filters on status, type, error code, time and id, on both kinds of rows', async () => {
    const from = base + 10 * 24 * 3600 * 1000;
    const ids = await insertRows(16, (i) => new Date(from + i * 1000));
    const window = { since: new Date(from), until: new Date(from + 16_000) };
    const count = async (filter: CommandFilter) => (await listAll({ ...window, ...filter }, 5)).length;
    expect(await count({})).toBe(16);
    expect(await count({ status: 'succeeded' })).toBe(8);
    expect(await count({ status: 'failed' })).toBe(4);
    expect(await count({ status: 'gave_up' })).toBe(2);
    expect(await count({ status: 'retrying' })).toBe(2);
    expect(await count({ type: 'ShipOrder' })).toBe(4);
    expect(await count({ errorCode: 'invalid_transition' })).toBe(4);
    expect(await count({ errorCode: 'infrastructure_error' })).toBe(4);
    expect(await count({ errorCode: 'infrastructure_error', status: 'failed' })).toBe(0);
    expect(await count({ since: new Date(from + 4000), until: new Date(from + 8000) })).toBe(4);
    expect(await count({ commandId: ids[3] })).toBe(1);
    expect(await records.count({ ...window, status: 'gave_up' })).toBe(2);
    expect(await records.count(window)).toBe(16);
    expect((await listAll({ commandId: ids[7] }))[0]).toMatchObject({ status: 'retrying', type: 'ShipOrder', aggregate: `order:${ids[7]}` });
  });
});
