// End to end: a command worker process dies with SIGKILL while its jobs are in flight, and the
// commands are delivered again. Exactly-once effect (docs/design.md §5) means each command changes
// the database once, whichever delivery runs, and every delivery answers the first outcome.
//
// BullMQ hands the jobs of a dead worker to another only after their 30 s lock has expired and
// two stalled-job checks 30 s apart have seen them: a minute or more. Rather than wait for it,
// the redelivery is made explicit: the same payload (same commandId) is added again under new
// job ids, which is what the processor sees on a redelivery. The kill itself is real.
import type { Job, Queue } from 'bullmq';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../support/config.js';
import { waitFor } from '../support/wait.js';
import { type Proc, stackEnv, stopProcess, systemOnFreshDatabase } from '../support/processes.js';
import { ApiClient, type Accepted } from '../support/api-client.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const system = systemOnFreshDatabase();
const { processes } = system;
let commands: Queue;
let env: Record<string, string>;
let api: ApiClient;
let userId: string;
let plentyId: string; // stock 100
let scarceId: string; // stock 1

beforeAll(async () => {
  env = stackEnv(system.url, { WORKER_CONCURRENCY: '8' });
  ({ commands } = system.commandsQueue(env));
  const [web, setupWorker] = await Promise.all([processes.startWeb(env), processes.startWorker('worker', env, 'setup-worker')]);
  api = new ApiClient(web.baseUrl);

  const user = await accepted('/v1/users', { email: 'kim@example.com', name: 'Kim' });
  const plenty = await accepted('/v1/products', { sku: 'PLENTY', name: 'Plenty', price: { amount: '2.50', currency: 'EUR' }, stock: 100 });
  const scarce = await accepted('/v1/products', { sku: 'SCARCE', name: 'Scarce', price: { amount: '7.25', currency: 'EUR' }, stock: 1 });
  for (const { commandId } of [user, plenty, scarce]) {
    expect((await api.settled(commandId)).status, processes.output()).toBe('succeeded');
  }
  userId = user.userId ?? '';
  plentyId = plenty.productId ?? '';
  scarceId = scarce.productId ?? '';
  // From here on, only the workers each test starts take jobs.
  await stopProcess(setupWorker);
});

async function accepted(path: string, body: unknown): Promise<Accepted> {
  const response = await api.post<Accepted>(path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body;
}

const placeOrder = (items: { productId: string; quantity: number }[]) => accepted('/v1/orders', { userId, items });

/** Places, one after the other, `first` and `second` of the plenty product, then one of each product. */
const placeThreeOrders = async (first: number, second: number): Promise<Accepted[]> => [
  await placeOrder([{ productId: plentyId, quantity: first }]),
  await placeOrder([{ productId: plentyId, quantity: second }]),
  await placeOrder([
    { productId: plentyId, quantity: 1 },
    { productId: scarceId, quantity: 1 },
  ]),
];

const count = async (sql: string, params: unknown[] = []) => Number((await system.db.query<{ n: string }>(sql, params)).rows[0]?.n);
const stockOf = (productId: string) => count('select stock as n from products where id = $1', [productId]);

interface ProcessedRow {
  command_id: string;
  status: 'succeeded' | 'failed';
  result: unknown;
  error: { code: string; message: string } | null;
}

async function processed(commandIds: string[]): Promise<Map<string, ProcessedRow>> {
  const { rows } = await system.db.query<ProcessedRow>(
    'select command_id, status, result, error from processed_commands where command_id = any($1::uuid[])',
    [commandIds],
  );
  return new Map(rows.map((row) => [row.command_id, row]));
}

/** Backends of this database waiting for a lock (the jobs blocked behind the test's row lock). */
const lockWaiters = () =>
  count(`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);

/** Holds the row lock of a product in a transaction of its own until `release()`. */
async function lockProduct(productId: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: system.url });
  await client.connect();
  await client.query('begin');
  await client.query('select 1 from products where id = $1 for update', [productId]);
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await client.query('commit');
      await client.end();
    },
  };
}

/** Adds each command's payload again under `copies` new job ids: the redelivery. */
async function redeliver(commandIds: string[], copies: number): Promise<Map<string, Job[]>> {
  const jobs = new Map<string, Job[]>();
  for (const commandId of commandIds) {
    const original = await commands.getJob(commandId);
    if (!original) throw new Error(`no job ${commandId}`);
    const added: Job[] = [];
    for (let copy = 1; copy <= copies; copy += 1) {
      added.push(await commands.add(original.name, original.data, { jobId: `${commandId}-redelivery-${copy}` }));
    }
    jobs.set(commandId, added);
  }
  return jobs;
}

/** Waits until every job has completed or failed, and returns them fresh from Redis. */
async function finished(jobs: Job[]): Promise<Job[]> {
  return waitFor(
    async () => {
      // States first, then the jobs: a job read before it settled would lack its return value.
      const states = await Promise.all(jobs.map((job) => commands.getJobState(job.id ?? '')));
      if (!states.every((state) => state === 'completed' || state === 'failed')) return undefined;
      const fresh = await Promise.all(jobs.map((job) => commands.getJob(job.id ?? '')));
      return fresh.filter((job) => job !== undefined);
    },
    30_000,
    `redelivered jobs to finish\n${processes.output()}`,
  );
}

describe('a command worker killed with SIGKILL while jobs are in flight', () => {
  it('after its commits and before its acks: the redeliveries change nothing and answer the first outcomes', async () => {
    // The worker reaches Redis through a proxy the test can silence, so it commits in
    // PostgreSQL but can never report the jobs done; then it is killed.
    const [redisHost, redisPort] = [new URL(REDIS_URL).hostname, Number(new URL(REDIS_URL).port || 6379)];
    const proxy = await TcpProxy.start({ host: redisHost, port: redisPort });
    let successor: Proc | undefined;
    try {
      const worker = await processes.startWorker('worker', { ...env, REDIS_URL: proxy.rewrite(REDIS_URL) }, 'worker-acks-lost');
      const lock = await lockProduct(plentyId);
      const orders = [
        ...(await placeThreeOrders(2, 3)),
        // More of the scarce product than there is: fails with insufficient_stock.
        await placeOrder([
          { productId: plentyId, quantity: 1 },
          { productId: scarceId, quantity: 5 },
        ]),
      ];
      const ids = orders.map((order) => order.commandId);
      // All four are taken by the worker: the first transactions wait on the row lock, and any
      // command the worker's group commit has not started yet waits for them in the process.
      await waitFor(
        async () => (await commands.getActiveCount()) === 4 && (await lockWaiters()) >= 1,
        20_000,
        `4 jobs taken, blocked behind the row lock\n${processes.output()}`,
      );

      proxy.freeze();
      await lock.release();
      // Every transaction commits (the failure is recorded too) but no ack reaches Redis.
      await waitFor(async () => (await processed(ids)).size === 4, 20_000, `4 outcomes committed\n${processes.output()}`);
      worker.child.kill('SIGKILL');
      expect(await worker.exited).toBe('SIGKILL');
      await proxy.close();

      const first = await processed(ids);
      for (const id of ids) expect(await (await commands.getJob(id))?.getState(), 'the original job was never acked').toBe('active');
      expect(first.get(ids[3] ?? '')).toMatchObject({ status: 'failed', error: { code: 'insufficient_stock' } });

      const redelivered = await redeliver(ids, 2);
      successor = await processes.startWorker('worker', env, 'worker-after-acks-lost');
      for (const [index, id] of ids.entries()) {
        const jobs = await finished(redelivered.get(id) ?? []);
        const outcome = first.get(id);
        expect(jobs, id).toHaveLength(2);
        for (const job of jobs) {
          if (outcome?.status === 'succeeded') {
            expect(await job.getState(), `${job.id}: ${job.failedReason}`).toBe('completed');
            expect(job.returnvalue).toEqual(outcome.result);
            expect(job.returnvalue).toMatchObject({ orderId: orders[index]?.orderId });
          } else {
            expect(await job.getState()).toBe('failed');
            // Failed for good on its first attempt, with the stored code and message.
            expect(job.attemptsMade).toBe(1);
            expect(job.failedReason).toBe(`${outcome?.error?.code}: ${outcome?.error?.message}`);
          }
        }
        const status = await api.get(`/v1/commands/${id}`);
        expect(status.body.status).toBe(outcome?.status);
      }

      // One effect per command: three orders, their stock taken once, one outcome each.
      expect(await count('select count(*) as n from orders where id = any($1::uuid[])', [orders.map((o) => o.orderId)])).toBe(3);
      expect(await count('select count(*) as n from orders')).toBe(3);
      expect(await stockOf(plentyId)).toBe(100 - 2 - 3 - 1);
      expect(await stockOf(scarceId)).toBe(0);
      expect(await count(`select count(*) as n from processed_commands where command_type = 'PlaceOrder'`)).toBe(4);
      expect(await count(`select count(*) as n from outbox_messages where type = 'order.placed'`)).toBe(3);
      // user.registered + 2 × product.added + 3 × order.placed.
      expect(await count('select count(*) as n from outbox_messages')).toBe(6);
    } finally {
      await proxy.close().catch(() => undefined);
      // The next test needs to know which worker takes its jobs.
      if (successor) await stopProcess(successor);
    }
  }, 60_000);

  it('in the middle of its transactions: nothing is committed, and the redelivered commands take effect once', async () => {
    const worker = await processes.startWorker('worker', env, 'worker-killed-mid-transaction');
    const plentyBefore = await stockOf(plentyId);
    const ordersBefore = await count('select count(*) as n from orders');
    const lock = await lockProduct(plentyId);
    let ids: string[];
    try {
      // The scarce product is sold out by now: the third fails.
      const orders = await placeThreeOrders(4, 5);
      ids = orders.map((order) => order.commandId);
      // The 4 jobs of the first test that its dead worker still holds, and these 3, blocked
      // behind the row lock (in a transaction, or queued in the worker for the next one).
      await waitFor(
        async () => (await commands.getActiveCount()) === 4 + 3 && (await lockWaiters()) >= 1,
        20_000,
        `3 jobs taken, blocked behind the row lock\n${processes.output()}`,
      );
      worker.child.kill('SIGKILL');
      expect(await worker.exited).toBe('SIGKILL');
    } finally {
      await lock.release();
    }
    // The dead worker's backends get the lock, find their client gone and roll back.
    await waitFor(
      async () =>
        (await count(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid()
              and (wait_event_type = 'Lock' or state in ('active', 'idle in transaction'))`,
        )) === 0,
      10_000,
      'the killed worker’s transactions to end',
    );
    expect((await processed(ids)).size).toBe(0);
    expect(await stockOf(plentyId)).toBe(plentyBefore);
    expect(await count('select count(*) as n from orders')).toBe(ordersBefore);
    for (const id of ids) {
      // Its job is still taken by the dead worker: the API says it is running.
      expect((await api.get(`/v1/commands/${id}`)).body.status).toBe('running');
    }

    const redelivered = await redeliver(ids, 2);
    await processes.startWorker('worker', env, 'worker-after-kill');
    const outcomes = await Promise.all(ids.map(async (id) => finished(redelivered.get(id) ?? [])));
    const stored = await processed(ids);
    for (const [index, id] of ids.entries()) {
      const outcome = stored.get(id);
      const jobs = outcomes[index] ?? [];
      const expectedStatus = index < 2 ? 'succeeded' : 'failed';
      expect(outcome?.status, id).toBe(expectedStatus);
      for (const job of jobs) {
        if (expectedStatus === 'succeeded') {
          expect(await job.getState()).toBe('completed');
          expect(job.returnvalue).toEqual(outcome?.result);
        } else {
          expect(await job.getState()).toBe('failed');
          expect(job.attemptsMade).toBe(1);
          expect(job.failedReason).toMatch(/^insufficient_stock: /);
          expect(job.failedReason).toBe(`${outcome?.error?.code}: ${outcome?.error?.message}`);
        }
      }
    }
    expect(await count('select count(*) as n from orders')).toBe(ordersBefore + 2);
    expect(await stockOf(plentyId)).toBe(plentyBefore - 4 - 5);
    expect(await count(`select count(*) as n from processed_commands where command_type = 'PlaceOrder'`)).toBe(4 + 3);
    expect(await count(`select count(*) as n from outbox_messages where type = 'order.placed'`)).toBe(3 + 2);
  }, 60_000);
});
