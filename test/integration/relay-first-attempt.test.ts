import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startMailer } from '../../src/main/roles/mailer.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { startRelay, type RunningRelay } from '../../src/main/roles/relay.js';
import { createWebhookManagement, startWebhooks } from '../../src/main/roles/webhooks.js';
import { RedisDeliveryRateLimiter } from '../../src/infrastructure/webhooks/redis-delivery-rate-limiter.js';
import { infrastructureOnFreshDatabase, publishRestocks } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';
import { HttpReceiver, startSmtpCapture, verifies, type SmtpCapture } from '../support/receivers.js';
import { waitFor } from '../support/wait.js';

// RELAY_FIRST_ATTEMPT (docs/adr/0024-relay-first-attempt.md) on the real wiring: the relay
// sends an email to a real SMTP server and POSTs a webhook to a real HTTP receiver itself, on
// real PostgreSQL and Redis; the queues get only the retries and what the relay has no room for.

let smtp: SmtpCapture;
let infra: Infrastructure;
let relay: RunningRelay;
const receivers: HttpReceiver[] = [];
const workers: RunningWorker[] = [];

beforeAll(async () => {
  // Addresses starting with "grey-" are greylisted on their first attempt (451).
  smtp = await startSmtpCapture({ greylist: (address) => address.startsWith('grey-') });
  infra = await infrastructureOnFreshDatabase(
    {
      RELAY_FIRST_ATTEMPT: 'true',
      SMTP_URL: smtp.url,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // One retry, a second after the first attempt.
      WEBHOOK_RETRY_SCHEDULE: '1',
      // Two first attempts in flight at most.
      WORKER_CONCURRENCY: '2',
      // The tests sweep by hand, with no grace.
      SWEEP_INTERVAL_MS: '600000',
      SWEEP_GRACE_MS: '0',
    },
    'test-first-attempt',
  );
  relay = await startRelay(infra, { pollIntervalMs: 100 });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(workers.splice(0).map((worker) => worker.stop(5000)));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  await infra.pool.query('update webhook_endpoints set deleted_at = now() where deleted_at is null');
});

afterAll(async () => {
  await relay.stop();
  for (const queue of Object.values(infra.queues)) await queue.obliterate({ force: true });
  await infra.close();
  await smtp.close();
});

async function receiver(answer?: HttpReceiver['answer']): Promise<HttpReceiver> {
  const started = await HttpReceiver.start(answer);
  receivers.push(started);
  return started;
}

async function endpoint(url: string, eventTypes: string[]): Promise<{ id: string; secret: string }> {
  return createWebhookManagement(infra).createEndpoint.execute({ url, eventTypes });
}

/** Commits a user.registered event (a welcome email, and a webhook to its subscribers) and wakes the relay. */
async function register(address: string): Promise<string> {
  const id = newId();
  await infra.pool.query(
    `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at)
     values ($1, 'user.registered', 'user', $1, jsonb_build_object('userId', $2::text, 'email', $3::text, 'name', 'Ann Example'), now())`,
    [id, id, address],
  );
  await infra.pool.query('notify outbox');
  return id;
}

/** conveyor_outbox_events_published_total of `type`, as GET /metrics shows it. */
async function publishedCount(type: string): Promise<number> {
  const line = (await infra.metrics.render()).split('\n').find((entry) => entry.startsWith(`conveyor_outbox_events_published_total{type="${type}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * A product.restocked endpoint whose receiver holds its first two requests unanswered (the
 * relay's two slots stay busy until the test answers `held`) and answers the rest with 204.
 */
async function restockEndpointHoldingTwo(): Promise<{ hook: HttpReceiver; held: ServerResponse[]; endpointId: string }> {
  const held: ServerResponse[] = [];
  const hook = await receiver((_request, index, { res }) => {
    if (index < 2) {
      held.push(res);
      return 'answered';
    }
    return { status: 204 };
  });
  const { id: endpointId } = await endpoint(`http://127.0.0.1:${hook.port}/hook`, ['product.restocked']);
  return { hook, held, endpointId };
}

/** Counts the delivery claims made by statement of their own (the repository's claimForSending) from now on. */
function claimStatements(): () => number {
  const query = vi.spyOn(infra.pool, 'query');
  const text = (config: unknown) => {
    if (typeof config === 'string') return config;
    const given = (config as { text?: unknown } | null)?.text;
    return typeof given === 'string' ? given : '';
  };
  return () => query.mock.calls.filter(([config]) => text(config).startsWith('with claim as')).length;
}

const emailOf = async (eventId: string) =>
  (await infra.pool.query<{ id: string; status: string; attempts: number }>('select id, status, attempts from email_messages where event_id = $1', [eventId])).rows[0];
const deliveryOf = async (eventId: string) =>
  (await infra.pool.query<{ id: string; status: string; attempts: number }>('select id, status, attempts from webhook_deliveries where event_id = $1', [eventId])).rows[0];

describe('RELAY_FIRST_ATTEMPT', () => {
  it('the relay sends the email and the webhook itself: the rows settle on attempt 1 and no job is added', async () => {
    const hook = await receiver();
    const { secret } = await endpoint(`http://127.0.0.1:${hook.port}/hook`, ['user.registered']);
    const address = `ann-${newId().slice(-12)}@example.com`;
    const eventId = await register(address);

    await waitFor(async () => smtp.to(address).length === 1 && hook.requests.length === 1, 10_000, 'the email and the webhook');
    const email = await waitFor(async () => ((await emailOf(eventId))?.status === 'sent' ? emailOf(eventId) : undefined));
    const delivery = await waitFor(async () => ((await deliveryOf(eventId))?.status === 'delivered' ? deliveryOf(eventId) : undefined));
    expect(email).toMatchObject({ status: 'sent', attempts: 1 });
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(verifies(secret, hook.requests[0]!)).toBe(true);
    expect(hook.requests[0]!.headers['webhook-id']).toBe(delivery.id);
    expect(smtp.to(address)).toHaveLength(1);
    expect(await infra.queues.emails.getJob(email.id)).toBeUndefined();
    expect(await infra.queues.webhooks.getJob(delivery.id)).toBeUndefined();
    const published = await infra.pool.query('select 1 from outbox_messages where id = $1 and published_at is not null', [eventId]);
    expect(published.rowCount).toBe(1);
  });

  it('a first attempt that fails temporarily leaves a delayed job, and the workers finish the delivery on attempt 2', async () => {
    const hook = await receiver((_request, index) => (index === 0 ? { status: 500 } : { status: 204 }));
    await endpoint(`http://127.0.0.1:${hook.port}/hook`, ['user.registered']);
    const address = `grey-${newId().slice(-12)}@example.com`;
    const eventId = await register(address);

    // The relay's attempts failed: both rows pending after attempt 1, each with a delayed job.
    const delivery = await waitFor(async () => {
      const row = await deliveryOf(eventId);
      return row?.attempts === 1 ? row : undefined;
    });
    const email = await waitFor(async () => {
      const row = await emailOf(eventId);
      return row?.attempts === 1 ? row : undefined;
    });
    expect(delivery.status).toBe('pending');
    expect(email.status).toBe('pending');
    const webhookJob = await waitFor(() => infra.queues.webhooks.getJob(delivery.id));
    const emailJob = await waitFor(() => infra.queues.emails.getJob(email.id));
    expect(webhookJob.data).toEqual({ deliveryId: delivery.id, attemptsBefore: 1 });
    expect(emailJob.data).toEqual({ emailId: email.id });
    expect(await webhookJob.getState()).toBe('delayed');
    expect(await emailJob.getState()).toBe('delayed');
    expect(smtp.to(address)).toHaveLength(0);

    workers.push(startMailer(infra), startWebhooks(infra));
    await waitFor(async () => (await deliveryOf(eventId))?.status === 'delivered', 10_000, 'the webhook on its retry');
    await waitFor(async () => (await emailOf(eventId))?.status === 'sent', 10_000, 'the email on its retry');
    expect(await deliveryOf(eventId)).toMatchObject({ attempts: 2 });
    expect(await emailOf(eventId)).toMatchObject({ attempts: 2 });
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.headers['webhook-id']).toBe(hook.requests[0]!.headers['webhook-id']);
    expect(smtp.to(address)).toHaveLength(1);
    expect(smtp.rcptAttempts.get(address)).toBe(2);
  });

  it('with no room left the relay queues the rest, the sweeper leaves its attempts in flight alone, and each delivery is made once', async () => {
    const { hook, held, endpointId } = await restockEndpointHoldingTwo();
    await publishRestocks(infra.pool, 5);

    // Two attempts hang at the receiver (WORKER_CONCURRENCY 2); the other three are jobs.
    await waitFor(async () => hook.requests.length === 2 && (await infra.queues.webhooks.getJobCountByTypes('waiting')) === 3, 10_000, 'two attempts and three jobs');
    const statuses = async () =>
      (await infra.pool.query<{ status: string; attempts: number }>('select status, attempts from webhook_deliveries where endpoint_id = $1', [endpointId])).rows;
    expect((await statuses()).map((row) => row.status)).toEqual(Array(5).fill('pending'));
    // Every row is older than the grace (0): the two without a job are the relay's own.
    expect(await relay.sweeper.sweep()).toBe(0);
    expect(await infra.queues.webhooks.getJobCountByTypes('waiting')).toBe(3);

    for (const res of held) res.writeHead(204).end();
    workers.push(startWebhooks(infra));
    await waitFor(async () => (await statuses()).every((row) => row.status === 'delivered'), 10_000, 'five deliveries');
    const ids = hook.requests.map((request) => request.headers['webhook-id']);
    expect(new Set(ids).size).toBe(5);
    expect(hook.requests).toHaveLength(5);
    expect((await statuses()).map((row) => row.attempts)).toEqual([1, 1, 1, 1, 1]);
  });

  it('creates the deliveries it attempts already claimed for those attempts: they make no claim statement of their own, and the ones it queues are claimed by their jobs', async () => {
    const claims = claimStatements();
    const { hook, held, endpointId } = await restockEndpointHoldingTwo();
    await publishRestocks(infra.pool, 5);

    await waitFor(async () => hook.requests.length === 2 && (await infra.queues.webhooks.getJobCountByTypes('waiting')) === 3, 10_000, 'two attempts and three jobs');
    const rows = async () =>
      (
        await infra.pool.query<{ id: string; status: string; attempt_id: string | null; attempt_started_at: Date | null }>(
          'select id, status, attempt_id, attempt_started_at from webhook_deliveries where endpoint_id = $1 order by id',
          [endpointId],
        )
      ).rows;
    const attempted = new Set(hook.requests.map((request) => request.headers['webhook-id']));
    const whileHeld = await rows();
    // The two in flight were created claimed (their claim's start recorded); the queued three not.
    expect(whileHeld.filter((row) => row.attempt_id !== null && row.attempt_started_at !== null).map((row) => row.id).sort()).toEqual([...attempted].sort());
    expect(whileHeld.filter((row) => row.attempt_id === null)).toHaveLength(3);
    expect(claims()).toBe(0);

    for (const res of held) res.writeHead(204).end();
    workers.push(startWebhooks(infra));
    await waitFor(async () => (await rows()).every((row) => row.status === 'delivered' && row.attempt_id === null), 10_000, 'five deliveries');
    expect(claims()).toBe(3);
    // Each logged attempt carries the id of the claim it was made under.
    const logged = await infra.pool.query<{ id: string; delivery_id: string }>(
      'select a.id, a.delivery_id from webhook_delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.endpoint_id = $1',
      [endpointId],
    );
    expect(logged.rows).toHaveLength(5);
    for (const row of whileHeld.filter((held) => held.attempt_id !== null)) {
      expect(logged.rows.find((attempt) => attempt.delivery_id === row.id)?.id).toBe(row.attempt_id);
    }
    expect(hook.requests).toHaveLength(5);
  });

  it('a delivery created claimed whose rate cannot be asked (Redis down) has its claim released and a job added at once', async () => {
    const acquire = vi.spyOn(RedisDeliveryRateLimiter.prototype, 'acquire').mockRejectedValueOnce(new Error('Connection is closed.'));
    const hook = await receiver();
    const { id: endpointId } = await endpoint(`http://127.0.0.1:${hook.port}/hook`, ['product.restocked']);
    await publishRestocks(infra.pool, 1);

    const row = async () =>
      (
        await infra.pool.query<{ id: string; status: string; attempts: number; attempt_id: string | null }>(
          'select id, status, attempts, attempt_id from webhook_deliveries where endpoint_id = $1',
          [endpointId],
        )
      ).rows[0];
    const queued = await waitFor(async () => {
      const delivery = await row();
      return delivery && (await infra.queues.webhooks.getJob(delivery.id)) ? delivery : undefined;
    }, 10_000, 'the delivery queued');
    expect(acquire).toHaveBeenCalledTimes(1);
    expect(queued).toMatchObject({ status: 'pending', attempts: 0, attempt_id: null });
    expect((await infra.queues.webhooks.getJob(queued.id))?.data).toEqual({ deliveryId: queued.id });
    expect(hook.requests).toHaveLength(0);

    workers.push(startWebhooks(infra));
    await waitFor(async () => (await row())?.status === 'delivered', 10_000, 'the delivery by its job');
    expect(await row()).toMatchObject({ attempts: 1, attempt_id: null });
    expect(hook.requests).toHaveLength(1);
  });

  it('a batch whose queued rows cannot get their jobs (Redis down) is published and counted all the same, and the sweeper restores those rows', async () => {
    const { hook, held, endpointId } = await restockEndpointHoldingTwo();
    const publishedBefore = await publishedCount('product.restocked');
    // The batch's add of its three queued deliveries fails as it does with Redis down.
    const addBulk = vi.spyOn(infra.queues.webhooks, 'addBulk').mockRejectedValueOnce(new Error('Connection is closed.'));
    await publishRestocks(infra.pool, 5);

    await waitFor(async () => hook.requests.length === 2 && addBulk.mock.calls.length === 1, 10_000, 'two attempts and the failed add');
    // The claim transaction published the events: the batch is done, not retried, and counted.
    await waitFor(async () => (await publishedCount('product.restocked')) === publishedBefore + 5, 10_000, 'five events counted as published');
    const unpublished = await infra.pool.query('select 1 from outbox_messages where published_at is null');
    expect(unpublished.rowCount).toBe(0);
    expect(await infra.queues.webhooks.getJobCountByTypes('waiting', 'delayed')).toBe(0);
    // The three rows without a job are the sweeper's; the two being attempted are not.
    expect(await relay.sweeper.sweep()).toBe(3);
    expect(addBulk).toHaveBeenCalledTimes(1);

    for (const res of held) res.writeHead(204).end();
    workers.push(startWebhooks(infra));
    const statuses = async () =>
      (await infra.pool.query<{ status: string; attempts: number }>('select status, attempts from webhook_deliveries where endpoint_id = $1', [endpointId])).rows;
    await waitFor(async () => (await statuses()).every((row) => row.status === 'delivered'), 10_000, 'five deliveries');
    expect(new Set(hook.requests.map((request) => request.headers['webhook-id'])).size).toBe(5);
    expect(hook.requests).toHaveLength(5);
    expect((await statuses()).map((row) => row.attempts)).toEqual([1, 1, 1, 1, 1]);
  });

  it('a published batch whose webhook jobs cannot be added but whose email jobs can names only the deliveries for the sweeper', async () => {
    const { hook, held } = await restockEndpointHoldingTwo();
    await publishRestocks(infra.pool, 2);
    await waitFor(async () => hook.requests.length === 2, 10_000, 'two attempts holding the relay\'s slots');
    const other = await receiver();
    await endpoint(`http://127.0.0.1:${other.port}/hook`, ['user.registered']);
    const add = vi.spyOn(infra.queues.webhooks, 'add').mockRejectedValueOnce(new Error('Connection is closed.'));
    const warn = vi.spyOn(infra.logger, 'warn');
    const eventId = await register(`ann-${newId().slice(-12)}@example.com`);

    const email = await waitFor(() => emailOf(eventId));
    const delivery = await waitFor(() => deliveryOf(eventId));
    await waitFor(async () => add.mock.calls.length === 1 && (await infra.queues.emails.getJob(email.id)) !== undefined, 10_000, 'the email queued, the delivery not');
    const warned = await waitFor(async () =>
      warn.mock.calls.find(([, message]) => message === 'jobs of a published batch could not be added; the sweeper restores their rows'),
    );
    expect(warned[0]).toMatchObject({ deliveryIds: [delivery.id] });
    expect(warned[0]).not.toHaveProperty('emailIds');
    expect(await infra.queues.webhooks.getJob(delivery.id)).toBeUndefined();
    // The sweeper restores the delivery only: the email has its job.
    expect(await relay.sweeper.sweep()).toBe(1);
    expect(await infra.queues.webhooks.getJob(delivery.id)).toBeDefined();
    for (const res of held) res.writeHead(204).end();
  });

  it('queues, and does not attempt, a pending row listed again from an earlier run of the batch', async () => {
    const hook = await receiver();
    const { id: endpointId } = await endpoint(`http://127.0.0.1:${hook.port}/hook`, ['product.restocked']);
    // An earlier relay created the event's delivery and stopped before publishing the event
    // (its job may be anywhere): the row is pending, the event unpublished.
    const eventId = newId();
    const deliveryId = newId();
    await infra.pool.query(
      `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at)
       values ($1, 'product.restocked', 'product', $1, jsonb_build_object('productId', $2::text, 'quantity', 1), now())`,
      [eventId, eventId],
    );
    await infra.pool.query(
      `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at)
       values ($1, $2, $3, 'product.restocked', '{}', 'pending', 0, now())`,
      [deliveryId, endpointId, eventId],
    );
    await infra.pool.query('notify outbox');

    const job = await waitFor(() => infra.queues.webhooks.getJob(deliveryId), 10_000, 'the job of the listed row');
    expect(job.data).toEqual({ deliveryId });
    const published = await infra.pool.query('select 1 from outbox_messages where id = $1 and published_at is not null', [eventId]);
    expect(published.rowCount).toBe(1);
    // The relay left it to the job (no webhooks worker runs here): nothing was sent.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.requests).toHaveLength(0);
    expect((await infra.pool.query<{ attempts: number }>('select attempts from webhook_deliveries where id = $1', [deliveryId])).rows[0]?.attempts).toBe(0);
  });
});
