import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { uniquePrefix } from '../support/redis-keys.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_EVENT_TYPES } from '../../src/application/webhooks/event-types.js';
import { ApiClient, type RecordedAnswer as Answer } from '../support/api-client.js';
import { migratedDatabase } from '../support/database.js';
import { count, deliveryState } from '../support/faults.js';
import { freePort } from '../support/net.js';
import { ProcessGroup } from '../support/processes.js';
import { HttpReceiver, startSmtpCapture, type ReceivedRequest, type SmtpCapture } from '../support/receivers.js';
import { sleep, within } from '../support/wait.js';
import { TEST_RATE_LIMIT_PER_MINUTE } from '../support/config.js';

// Redis restarted under a running system (web, worker, relay, mailer, webhooks as real
// processes, a private redis-server, a real SMTP server and webhook receiver):
//  a) with AOF (appendfsync always) it comes back with its data: everything resumes with no
//     manual action, the API answers only 202 or 503 meanwhile;
//  b) without persistence it comes back empty: the relay's sweeper restores every pending
//     email and webhook delivery from PostgreSQL.

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(error));
});

const API_KEY = 'fault-key';

/** The webhook receiver of these tests: checks each signature and keeps the `webhook-id`s. */
class CheckedWebhooks {
  readonly ids = new Set<string>();
  badSignatures = 0;
  private verifier: Webhook | undefined;

  constructor(readonly http: HttpReceiver) {
    http.answer = (request) => this.check(request);
  }

  get requests(): number {
    return this.http.requests.length;
  }

  /** Subscribes the receiver to every event type through the API; keeps the secret it answers. */
  async subscribe(client: ApiClient): Promise<void> {
    const answer = await client.attempt('POST', 'POST /v1/webhook-endpoints', '/v1/webhook-endpoints', {
      url: `${this.http.url}/hook`,
      eventTypes: [...WEBHOOK_EVENT_TYPES],
    });
    if (answer.status !== 201) throw new Error(`webhook endpoint not created: ${answer.status} ${JSON.stringify(answer.body)}`);
    this.verifier = new Webhook((answer.body as { secret: string }).secret);
  }

  private check(request: ReceivedRequest): { status: number; body: string } {
    try {
      if (!this.verifier) throw new Error('not subscribed');
      this.verifier.verify(request.body, request.headers as Record<string, string>);
      this.ids.add(String(request.headers['webhook-id']));
      return { status: 200, body: 'ok' };
    } catch {
      this.badSignatures += 1;
      return { status: 400, body: 'bad signature' };
    }
  }
}

/** The Message-IDs of the mails the SMTP server accepted. */
const messageIds = (smtp: SmtpCapture): Set<string> =>
  new Set(smtp.messages.map((mail) => mail.headers.get('message-id')).filter((id): id is string => id !== undefined));

interface Fixture {
  redis: PrivateRedis;
  pool: pg.Pool;
  system: ProcessGroup;
  client: ApiClient;
  receiver: CheckedWebhooks;
  smtp: SmtpCapture;
  prefix: string;
}

async function fixture(name: string, appendonly: boolean, env: Record<string, string>): Promise<Fixture> {
  const redis = await startPrivateRedis({ appendonly, appendfsync: 'always' });
  cleanups.push(() => redis.cleanup());
  const db = await migratedDatabase();
  cleanups.push(db.drop);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  cleanups.push(() => pool.end());
  const receiver = new CheckedWebhooks(await HttpReceiver.start());
  cleanups.push(() => receiver.http.close());
  const smtp = await startSmtpCapture();
  cleanups.push(() => smtp.close());
  const prefix = uniquePrefix(name);
  const port = await freePort();
  const system = new ProcessGroup({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: String(port),
    API_KEYS: API_KEY,
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    SMTP_URL: smtp.url,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1,2,5,10,30',
    WORKER_CONCURRENCY: '8',
    ...env,
  });
  cleanups.push(() => system.stopAll(10_000));
  return { redis, pool, system, client: new ApiClient(`http://127.0.0.1:${port}`, API_KEY), receiver, smtp, prefix };
}

/** POSTs a command until it is accepted (a client retries a 503); returns its command id. */
async function accepted(client: ApiClient, route: string, path: string, body: unknown, idempotencyKey?: string): Promise<string> {
  return (await acceptedAnswer(client, route, path, body, idempotencyKey)).commandId;
}

/** The same, returning the whole 202 answer (with the aggregate id). */
async function acceptedAnswer(
  client: ApiClient,
  route: string,
  path: string,
  body: unknown,
  idempotencyKey?: string,
): Promise<{ commandId: string; orderId?: string }> {
  for (;;) {
    const answer = await client.attempt('POST', route, path, body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
    if (answer.status === 202) return answer.body as { commandId: string; orderId?: string };
    if (answer.status !== 503) throw new Error(`POST ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    await sleep(100);
  }
}

async function seed(f: Fixture): Promise<{ userId: string; productId: string; commandIds: string[] }> {
  const user = await f.client.attempt('POST', 'POST /v1/users', '/v1/users', { email: 'seed@example.com', name: 'Seed' });
  const product = await f.client.attempt('POST', 'POST /v1/products', '/v1/products', {
    sku: 'FAULT-1',
    name: 'Widget',
    price: { amount: '2.50', currency: 'EUR' },
    stock: 1_000_000,
  });
  expect([user.status, product.status]).toEqual([202, 202]);
  const ids = [user, product].map((answer) => (answer.body as { commandId: string }).commandId);
  await within('the seed commands', 20_000, async () =>
    (await count(f.pool, `select count(*) as n from processed_commands where command_id = any($1::uuid[]) and status = 'succeeded'`, [ids])) === 2,
  );
  return {
    userId: (user.body as { userId: string }).userId,
    productId: (product.body as { productId: string }).productId,
    commandIds: ids,
  };
}

/** Every accepted command has its outcome row, and every one succeeded. */
async function outcomes(pool: pg.Pool, commandIds: string[]): Promise<Record<string, number>> {
  const rows = await pool.query<{ status: string; n: string }>(
    'select status, count(*) as n from processed_commands where command_id = any($1::uuid[]) group by status',
    [commandIds],
  );
  return Object.fromEntries(rows.rows.map((row) => [row.status, Number(row.n)]));
}

/** Every event is delivered: each outbox row published, each delivery and email row settled and received. */
async function everythingDelivered(f: Fixture): Promise<boolean> {
  const state = await deliveryState(f.pool);
  const outbox = state.outbox ?? 0;
  if ((state.outbox_unpublished ?? 0) > 0) return false;
  if ((state.webhook_delivered ?? 0) !== outbox || (state.webhook_pending ?? 0) > 0) return false;
  if ((state.email_pending ?? 0) > 0) return false;
  const deliveries = await f.pool.query<{ id: string }>('select id from webhook_deliveries');
  if (!deliveries.rows.every((row) => f.receiver.ids.has(row.id))) return false;
  const emails = await f.pool.query<{ message_id: string }>(`select message_id from email_messages`);
  return emails.rows.every((row) => messageIds(f.smtp).has(row.message_id));
}

describe('Redis restarts under a running system', () => {
  it('with AOF: resumes by itself; every 202 command succeeds, every event is delivered, no 500 meanwhile', { timeout: 300_000 }, async () => {
    // A job that was running when Redis went away loses its lock and comes back as stalled after
    // 1–3× WORKER_LOCK_MS; with per-aggregate order the commands behind it on its key wait for
    // it, so a shorter lock keeps the figures about Redis, not about the default 30 s lock.
    const f = await fixture('redis-aof', true, { WORKER_LOCK_MS: '5000' });
    await f.system.startRoles('web', 'worker', 'relay', 'mailer', 'webhooks');
    await f.receiver.subscribe(f.client);
    const { userId, productId, commandIds: seedCommandIds } = await seed(f);

    const TOTAL = 300;
    const CLIENTS = 4;
    const commandIds: string[] = [];
    let next = 0;
    let outage: { stoppedAt: number; startedAt: number } | undefined;

    // A careful client retries a 503 with the same Idempotency-Key: every registration (a
    // duplicate would fail on its email), every confirmation (a duplicate would fail on its
    // transition: the 503'd one may have run, see ranAfter503 below) and half of the other
    // commands carry one.
    const commandFor = (i: number): [string, string, unknown, string | undefined] => {
      const key = `fault-${i}`;
      switch (i % 3) {
        case 0:
          return ['POST /v1/users', '/v1/users', { email: `user-${i}@example.com`, name: `User ${i}` }, key];
        case 1:
          return ['POST /v1/orders', '/v1/orders', { userId, items: [{ productId, quantity: 1 }] }, i % 2 === 0 ? key : undefined];
        default:
          return ['POST /v1/products/:id/restock', `/v1/products/${productId}/restock`, { quantity: 1 }, i % 2 === 0 ? key : undefined];
      }
    };
    const client = async () => {
      for (let i = next++; i < TOTAL; i = next++) {
        const [route, path, body, key] = commandFor(i);
        const answer = await acceptedAnswer(f.client, route, path, body, key);
        commandIds.push(answer.commandId);
        if (answer.orderId) {
          // Confirmed right after its 202, without waiting: per-aggregate order must hold
          // across the restart (ConfirmOrder before PlaceOrder would fail with order_not_found).
          commandIds.push(await accepted(f.client, 'POST /v1/orders/:id/confirm', `/v1/orders/${answer.orderId}/confirm`, undefined, `fault-${i}-confirm`));
        }
        await sleep(25);
      }
    };
    // A command scheduled to run after the restart: its delayed job must come back with Redis.
    let scheduled: { commandId: string; runAt: Date } | undefined;
    const fault = async () => {
      await within('100 accepted commands', 60_000, async () => commandIds.length >= 100);
      const runAt = new Date(Date.now() + 5000);
      const answer = await f.client.attempt('POST', 'POST /v1/products/:id/restock', `/v1/products/${productId}/restock`, { quantity: 1 }, {
        'run-at': runAt.toISOString(),
      });
      if (answer.status !== 202) throw new Error(`scheduled restock: ${answer.status} ${JSON.stringify(answer.body)}`);
      scheduled = { commandId: (answer.body as { commandId: string }).commandId, runAt };
      const stoppedAt = Date.now();
      await f.redis.stop('SIGTERM');
      await sleep(3000);
      await f.redis.start();
      outage = { stoppedAt, startedAt: Date.now() };
    };
    const runStarted = Date.now();
    await Promise.all([fault(), ...Array.from({ length: CLIENTS }, client)]);
    const intakeDone = Date.now();
    if (!outage) throw new Error('the outage did not happen');
    const { stoppedAt, startedAt } = outage;

    const succeededIn = await within(
      `an outcome for all ${commandIds.length} accepted commands`,
      120_000,
      async () => Object.values(await outcomes(f.pool, commandIds)).reduce((a, b) => a + b, 0) === commandIds.length,
      async () => JSON.stringify(await outcomes(f.pool, commandIds)) + '\n' + f.system.output(),
    );
    const failed = await f.pool.query<{ command_id: string; command_type: string; error: unknown }>(
      `select command_id, command_type, error from processed_commands where command_id = any($1::uuid[]) and status <> 'succeeded'`,
      [commandIds],
    );
    for (const row of failed.rows) {
      console.log('[redis-restart AOF] FAILED command', JSON.stringify(row));
      console.log(f.system.outputOf('worker').split('\n').filter((line) => line.includes(row.command_id)).join('\n'));
    }
    const commandsDoneAt = Date.now();
    const deliveredIn = await within('every event to be delivered', 120_000, () => everythingDelivered(f), async () =>
      JSON.stringify({ ...(await deliveryState(f.pool)), received: f.receiver.ids.size, mails: messageIds(f.smtp).size }) + '\n' + f.system.output(),
    );
    const state = await deliveryState(f.pool);
    // Commands that ran although their request was answered 503 (a client without an
    // Idempotency-Key then sends it again as a new command). Printed, not asserted, as it is a
    // known defect: a queue add in flight when Redis shuts down may be executed and persisted
    // by Redis while ioredis rejects it (MaxRetriesPerRequestError), and the API answers 503.
    const ghosts = await f.pool.query<{ command_id: string; command_type: string }>(
      'select command_id, command_type from processed_commands where not (command_id = any($1::uuid[]))',
      [[...commandIds, ...seedCommandIds]],
    );
    const during = (answer: Answer) => answer.at >= stoppedAt && answer.at <= startedAt;
    const afterRestart = (answer: Answer) => answer.at > startedAt;
    const last503 = Math.max(...f.client.answers.filter((a) => a.status === 503).map((a) => a.at));
    const figures = {
      commands: commandIds.length,
      outageMs: startedAt - stoppedAt,
      answersDuringOutage: f.client.tally(during),
      answersAfterRestart: f.client.tally(afterRestart),
      answersTotal: f.client.tally(),
      last503AfterRestartMs: last503 - startedAt,
      intakeMs: intakeDone - runStarted,
      allCommandsSucceededMsAfterRestart: commandsDoneAt - startedAt,
      waitedForCommandsMs: succeededIn,
      waitedForDeliveriesMs: deliveredIn,
      allDeliveredMsAfterRestart: Date.now() - startedAt,
      rows: state,
      webhooksReceived: f.receiver.ids.size,
      webhookRequests: f.receiver.requests,
      badSignatures: f.receiver.badSignatures,
      emailsReceived: messageIds(f.smtp).size,
      smtpMessages: f.smtp.messages.length,
      sweeperRestores: f.system.count('relay', 'sweeper restored jobs'),
      ranAfter503: ghosts.rows.map((row) => `${row.command_type} ${row.command_id}`),
      enqueueErrors: f.system.errors('web', 'could not enqueue the command'),
      exitedProcesses: f.system.exited(),
    };
    console.log('[redis-restart AOF]', JSON.stringify(figures, null, 2));

    // Every request whose number is 1 modulo 3 places an order, which is confirmed at once.
    const ACCEPTED = TOTAL + Array.from({ length: TOTAL }, (_, i) => i).filter((i) => i % 3 === 1).length;
    expect(commandIds).toHaveLength(ACCEPTED);
    expect(new Set(commandIds).size).toBe(ACCEPTED);
    // During the outage the API refuses (503) or accepts (202): never a 500.
    const isCommand = (answer: Answer) => answer.route !== 'POST /v1/webhook-endpoints';
    for (const status of f.client.statuses(isCommand)) expect([202, 503]).toContain(status);
    expect(f.client.statuses(during)).toContain(503);
    expect(await outcomes(f.pool, commandIds)).toEqual({ succeeded: ACCEPTED });
    // The scheduled command ran once, at its time, although Redis restarted while it waited.
    const scheduledRun = await within('the scheduled restock', 30_000, async () => (await outcomes(f.pool, [scheduled!.commandId])).succeeded === 1);
    const [ranAt] = (await f.pool.query<{ processed_at: Date }>('select processed_at from processed_commands where command_id = $1', [scheduled!.commandId])).rows;
    console.log(`[redis-restart AOF] scheduled restock ran ${ranAt!.processed_at.getTime() - scheduled!.runAt.getTime()} ms after its Run-At (waited ${scheduledRun} ms more)`);
    expect(ranAt!.processed_at.getTime()).toBeGreaterThanOrEqual(scheduled!.runAt.getTime());
    // Each event exactly once in the rows, at least once at the receivers; all signed correctly.
    expect(state.webhook_failed ?? 0).toBe(0);
    expect(state.email_failed ?? 0).toBe(0);
    expect(state.webhook_delivered).toBe(state.outbox);
    expect(f.receiver.badSignatures).toBe(0);
    expect(f.receiver.ids.size).toBe(state.outbox);
    expect(messageIds(f.smtp).size).toBe(state.email_sent);
    expect(f.system.exited()).toEqual([]);
  });

  it('without persistence: the sweeper restores every pending email and webhook delivery', { timeout: 180_000 }, async () => {
    const f = await fixture('redis-empty', false, { SWEEP_INTERVAL_MS: '500', SWEEP_GRACE_MS: '0' });
    // No mailer and no webhooks process yet: the relay's rows stay pending, their jobs wait in Redis.
    await f.system.startRoles('web', 'worker', 'relay');
    await f.receiver.subscribe(f.client);
    const { userId, productId } = await seed(f);
    const commandIds: string[] = [];
    for (let i = 0; i < 60; i += 1) {
      commandIds.push(
        i % 2 === 0
          ? await accepted(f.client, 'POST /v1/users', '/v1/users', { email: `lost-${i}@example.com`, name: `Lost ${i}` })
          : await accepted(f.client, 'POST /v1/orders', '/v1/orders', { userId, items: [{ productId, quantity: 2 }] }),
      );
    }
    await within('the commands to succeed and the outbox to be relayed', 60_000, async () =>
      (await outcomes(f.pool, commandIds)).succeeded === commandIds.length &&
      (await count(f.pool, 'select count(*) as n from outbox_messages where published_at is null')) === 0,
    );
    const before = await deliveryState(f.pool);
    const pendingEmails = before.email_pending ?? 0;
    const pendingWebhooks = before.webhook_pending ?? 0;
    const queued = new Redis(f.redis.url, { maxRetriesPerRequest: null, lazyConnect: true });
    cleanups.push(async () => queued.disconnect());
    const emails = new Queue('emails', { connection: queued, prefix: f.prefix });
    const webhooks = new Queue('webhooks', { connection: queued, prefix: f.prefix });
    cleanups.push(() => Promise.all([emails.close(), webhooks.close()]));
    const waitingJobs = async () => ({ emails: await emails.getWaitingCount(), webhooks: await webhooks.getWaitingCount() });
    const jobsBefore = await waitingJobs();
    expect(jobsBefore).toEqual({ emails: pendingEmails, webhooks: pendingWebhooks });

    // Redis restarts empty: every job is gone.
    const stoppingAt = Date.now();
    await f.redis.stop('SIGTERM');
    await f.redis.start();
    const restartedAt = Date.now();
    const keysAfterRestart = await f.redis.command('DBSIZE');

    const restoredIn = await within('the sweeper to restore every job', 30_000, async () => {
      const jobs = await waitingJobs();
      return jobs.emails === pendingEmails && jobs.webhooks === pendingWebhooks;
    }, async () => JSON.stringify(await waitingJobs()) + '\n' + f.system.output());

    // Every job now in Redis was added after the restart: by the sweeper, from the rows.
    const restoredJobs = [...(await emails.getWaiting()), ...(await webhooks.getWaiting())];
    const addedBeforeRestart = restoredJobs.filter((job) => job.timestamp < stoppingAt).length;

    const startedSenders = Date.now();
    await f.system.startRoles('mailer', 'webhooks');
    const sendersUpIn = Date.now() - startedSenders;
    await within('every restored email and webhook to arrive', 60_000, () => everythingDelivered(f), async () =>
      JSON.stringify({ ...(await deliveryState(f.pool)), received: f.receiver.ids.size, mails: messageIds(f.smtp).size }) + '\n' + f.system.output(),
    );
    const after = await deliveryState(f.pool);
    const figures = {
      commands: commandIds.length,
      pendingBeforeRestart: { emails: pendingEmails, webhooks: pendingWebhooks },
      jobsBeforeRestart: jobsBefore,
      keysRightAfterRestart: keysAfterRestart,
      restoredJobs: restoredJobs.length,
      restoredJobsOlderThanRestart: addedBeforeRestart,
      restoredBySweeperMs: restoredIn,
      sendersStartupMs: sendersUpIn,
      allArrivedMsAfterRestart: Date.now() - restartedAt,
      rows: after,
      webhooksReceived: f.receiver.ids.size,
      webhookRequests: f.receiver.requests,
      emailsReceived: messageIds(f.smtp).size,
      smtpMessages: f.smtp.messages.length,
      sweeperLogLines: f.system.count('relay', 'sweeper restored jobs'),
      exitedProcesses: f.system.exited(),
    };
    console.log('[redis-restart no persistence]', JSON.stringify(figures, null, 2));

    expect(pendingEmails).toBeGreaterThan(0);
    expect(pendingWebhooks).toBeGreaterThan(0);
    expect(restoredJobs).toHaveLength(pendingEmails + pendingWebhooks);
    expect(addedBeforeRestart).toBe(0);
    expect(after.email_sent).toBe(pendingEmails);
    expect(after.webhook_delivered).toBe(pendingWebhooks);
    expect(messageIds(f.smtp).size).toBe(pendingEmails);
    expect(f.receiver.ids.size).toBe(pendingWebhooks);
    expect(f.receiver.badSignatures).toBe(0);
    expect(f.system.exited()).toEqual([]);
  });
});
