import { Queue } from 'bullmq';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutboxRelay, type RelayPolicies } from '../../src/infrastructure/relay/outbox-relay.js';
import { Sweeper } from '../../src/infrastructure/relay/sweeper.js';
import type { RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { poolAndRedis } from '../support/pool-and-redis.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { newId } from '../support/orm.js';
import { recordTrips } from '../support/trips.js';

const logger = pino({ level: 'silent' });
const policies: RelayPolicies = {
  buildWebhookBody: (event) => JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.payload }),
  emailJobOptions: { attempts: 3 },
  webhookJobOptions: { attempts: 3 },
};

const fixture = poolAndRedis();
let pool: pg.Pool;
let connection: RedisConnection;
let emails: Queue;
let webhooks: Queue;

beforeEach(async () => {
  ({ pool, connection } = fixture);
  const prefix = uniquePrefix('relay');
  emails = new Queue('emails', { connection, prefix });
  webhooks = new Queue('webhooks', { connection, prefix });
  await pool.query('truncate outbox_messages, webhook_deliveries, email_messages, webhook_endpoints, users');
});

afterEach(() => {
  vi.restoreAllMocks();
});

const relay = (extra: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) =>
  new OutboxRelay({ pool, emails, webhooks, policies, logger, ...extra });

async function endpoint(eventTypes: string[], enabled = true, deleted = false): Promise<string> {
  const id = newId();
  await pool.query(
    `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at, deleted_at)
     values ($1, 'http://127.0.0.1:9/x', $2, 'whsec_x', $3, now(), case when $4 then now() end)`,
    [id, JSON.stringify(eventTypes), enabled, deleted],
  );
  return id;
}

async function event(type: string, payload: Record<string, unknown>): Promise<string> {
  const id = newId();
  await pool.query(
    `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at) values ($1, $2, 'user', $3, $4, now())`,
    [id, type, newId(), JSON.stringify(payload)],
  );
  return id;
}

async function user(): Promise<{ id: string; email: string }> {
  const id = newId();
  const email = `${id}@example.com`;
  await pool.query(`insert into users (id, email, name, created_at) values ($1, $2, 'Ann', now())`, [id, email]);
  return { id, email };
}

const count = async (sql: string, params: unknown[] = []) => Number((await pool.query<{ n: string }>(sql, params)).rows[0]?.n);

describe('OutboxRelay', () => {
  it('creates the email and webhook rows an event implies, one job per row, and marks it published', async () => {
    const all = await endpoint(['*']);
    const placedOnly = await endpoint(['order.placed']);
    await endpoint(['user.registered'], false);
    await endpoint(['*'], true, true);
    const ann = await user();
    const placed = await event('order.placed', { orderId: newId(), userId: ann.id });
    const registered = await event('user.registered', { userId: ann.id, email: ann.email });

    expect(await relay().drain()).toBe(2);

    const deliveries = await pool.query<{ id: string; endpoint_id: string; event_id: string; body: string }>(
      'select id, endpoint_id, event_id, body from webhook_deliveries order by endpoint_id, event_id',
    );
    expect(deliveries.rows.map((d) => [d.endpoint_id, d.event_id]).sort()).toEqual(
      [
        [all, placed],
        [all, registered],
        [placedOnly, placed],
      ].sort(),
    );
    const mails = await pool.query<{ id: string; template: string; to_address: string; message_id: string }>(
      'select id, template, to_address, message_id from email_messages order by template',
    );
    expect(mails.rows.map((m) => [m.template, m.to_address])).toEqual([
      ['order_confirmation', ann.email],
      ['welcome', ann.email],
    ]);
    expect(mails.rows[0]?.message_id).toBe(`<${mails.rows[0]?.id}@conveyor.local>`);
    for (const d of deliveries.rows) expect((await webhooks.getJob(d.id))?.data).toEqual({ deliveryId: d.id });
    for (const m of mails.rows) expect((await emails.getJob(m.id))?.data).toEqual({ emailId: m.id });
    expect(await count('select count(*) as n from outbox_messages where published_at is null')).toBe(0);
  });

  it('reads the addresses of the users its events name with the claim, not in a trip of its own', async () => {
    await endpoint(['*']);
    const users = await Promise.all(Array.from({ length: 5 }, () => user()));
    for (const { id } of users) await event('order.placed', { orderId: newId(), userId: id });

    const trips = recordTrips();
    try {
      expect(await relay().drain()).toBe(5);
    } finally {
      trips.stop();
    }
    const mails = await pool.query<{ to_address: string }>(`select to_address from email_messages where template = 'order_confirmation'`);
    expect(mails.rows.map((row) => row.to_address).sort()).toEqual(users.map((u) => u.email).sort());
    // The claim (with its BEGIN and the endpoints), the rows' insert, COMMIT, marking published.
    expect(trips.texts.filter((text) => /from users where/.test(text))).toEqual([]);
    expect(trips.count).toBe(4);
  });

  it('skips the email of an event whose userId names no user, or is no user id at all, and relays the rest', async () => {
    const ann = await user();
    await event('order.placed', { orderId: newId(), userId: newId() });
    await event('order.placed', { orderId: newId(), userId: 'not-a-uuid' });
    await event('order.placed', { orderId: newId(), userId: ann.id });

    expect(await relay().drain()).toBe(3);
    const mails = await pool.query<{ to_address: string }>('select to_address from email_messages');
    expect(mails.rows.map((row) => row.to_address)).toEqual([ann.email]);
    expect(await count('select count(*) as n from outbox_messages where published_at is null')).toBe(0);
  });

  it('relays a batch larger than one claim in several, each event once, and refuses a batch size that is not a positive integer', async () => {
    const subscriber = await user();
    await endpoint(['user.registered']);
    for (let i = 0; i < 7; i += 1) await event('user.registered', { userId: subscriber.id, email: subscriber.email });
    expect(await relay({ batchSize: 3 }).drain()).toBe(7);
    expect(await count('select count(*) as n from webhook_deliveries')).toBe(7);
    expect(await count("select count(*) as n from outbox_messages where published_at is null")).toBe(0);
    expect(await webhooks.count()).toBe(7);
    for (const batchSize of [0, 2.5, Number.NaN]) expect(() => relay({ batchSize })).toThrow(RangeError);
  });

  it('adds the one job of each queue of a one-event batch with the queue\'s options, as a bulk add does, without an ioredis pipeline', async () => {
    await endpoint(['user.registered']);
    const ann = await user();
    await event('user.registered', { userId: ann.id, email: ann.email });
    // What a pipeline costs the relay is the reason for the single add (docs/benchmarks.md).
    // The queues share the fixture's connection (BullMQ reuses a connection it is given).
    const pipelines = vi.spyOn(connection, 'pipeline');

    expect(await relay().drain()).toBe(1);

    expect(pipelines).not.toHaveBeenCalled();
    const [mail] = (await pool.query<{ id: string }>('select id from email_messages')).rows;
    const [delivery] = (await pool.query<{ id: string }>('select id from webhook_deliveries')).rows;
    const emailJob = await emails.getJob(mail!.id);
    const webhookJob = await webhooks.getJob(delivery!.id);
    expect(emailJob?.data).toEqual({ emailId: mail!.id });
    expect(webhookJob?.data).toEqual({ deliveryId: delivery!.id });
    expect(emailJob?.opts).toMatchObject({ ...policies.emailJobOptions, jobId: mail!.id });
    expect(webhookJob?.opts).toMatchObject({ ...policies.webhookJobOptions, jobId: delivery!.id });
    expect(await emailJob?.getState()).toBe('waiting');
  });

  it('re-running an interrupted batch adds no second row and no second job', async () => {
    await endpoint(['*']);
    const ann = await user();
    await event('user.registered', { userId: ann.id, email: ann.email });
    // A relay that crashed after enqueueing, before marking the batch published, leaves
    // exactly this state behind: rows and jobs exist, the outbox row is unpublished.
    await relay().drain();
    await pool.query('update outbox_messages set published_at = null');

    await relay().drain();

    expect(await count('select count(*) as n from webhook_deliveries')).toBe(1);
    expect(await count('select count(*) as n from email_messages')).toBe(1);
    expect(await webhooks.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed')).toBe(1);
    expect(await emails.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed')).toBe(1);
  });

  it('wakes on NOTIFY within milliseconds, without waiting for the poll', async () => {
    await endpoint(['*']);
    const r = relay({ pollIntervalMs: 60_000 });
    await r.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const id = await event('product.added', { productId: newId() });
      await pool.query(`select pg_notify('outbox', '')`);
      const started = Date.now();
      while (Date.now() - started < 5000) {
        if ((await count('select count(*) as n from outbox_messages where id = $1 and published_at is not null', [id])) === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await count('select count(*) as n from outbox_messages where published_at is null')).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await r.stop();
    }
  });

  it('two relays side by side relay 1,000 events once each', async () => {
    await endpoint(['*']);
    for (let i = 0; i < 10; i++) {
      await pool.query(
        `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at)
         select gen_random_uuid(), 'product.added', 'product', gen_random_uuid(), '{}'::jsonb, now() from generate_series(1, 100)`,
      );
    }
    const [a, b] = [relay({ batchSize: 50 }), relay({ batchSize: 50 })];
    const [na, nb] = await Promise.all([a.drain(), b.drain()]);
    expect(na + nb).toBeGreaterThanOrEqual(1000);
    expect(await count('select count(*) as n from webhook_deliveries')).toBe(1000);
    expect(await count('select count(distinct event_id) as n from webhook_deliveries')).toBe(1000);
    expect(await webhooks.getJobCountByTypes('waiting')).toBe(1000);
  });
});

describe('Sweeper', () => {
  it('restores the jobs of pending rows after Redis lost them, and leaves settled rows alone', async () => {
    await endpoint(['*']);
    const ann = await user();
    await event('user.registered', { userId: ann.id, email: ann.email });
    await event('order.placed', { orderId: newId(), userId: ann.id });
    await relay().drain();
    await pool.query(`update webhook_deliveries set status = 'delivered' where event_id in (select id from outbox_messages where type = 'order.placed')`);
    await pool.query(`update webhook_deliveries set next_attempt_at = now() + interval '1 hour' where status = 'pending'`);
    await webhooks.obliterate({ force: true });
    await emails.obliterate({ force: true });

    const sweeper = new Sweeper({
      pool,
      emails,
      webhooks,
      emailJobOptions: {},
      webhookJobOptions: {},
      logger,
      graceMs: 0,
    });
    expect(await sweeper.sweep()).toBe(3);

    const pending = await pool.query<{ id: string }>(`select id from webhook_deliveries where status = 'pending'`);
    expect(pending.rows).toHaveLength(1);
    const job = await webhooks.getJob(pending.rows[0]?.id ?? '');
    expect(await job?.getState()).toBe('delayed');
    // It carries the attempts already made, so the retry schedule goes on where it was.
    expect(job?.data).toEqual({ deliveryId: pending.rows[0]?.id, attemptsBefore: 0 });
    expect(await emails.getJobCountByTypes('waiting')).toBe(2);
    expect(await webhooks.getJobCountByTypes('waiting', 'delayed')).toBe(1);
    // A second pass finds every job in place.
    expect(await sweeper.sweep()).toBe(0);
  });
});
