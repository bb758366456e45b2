// Work the platform starts by itself, over HTTP against the Procfile processes (issue 12, parts
// 3 and 4): a recurring schedule with two web and two worker processes side by side, and an
// order that expires when nobody confirms it.
import type { Queue } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_TICK_JOB } from '../../queues/schedules.js';
import { expireOrderCommandId } from '../../src/infrastructure/queue/derived-ids.js';
import { ApiClient, type Accepted } from '../support/api-client.js';
import { stackEnv, systemOnFreshDatabase } from '../support/processes.js';
import { sleep, waitFor } from '../support/wait.js';

/** Short enough for a test, long enough to confirm an order on a busy machine first. */
const CONFIRMATION_TIMEOUT_S = 4;

const system = systemOnFreshDatabase();
const { processes } = system;
let commands: Queue;
let web1: ApiClient;
let web2: ApiClient;

beforeAll(async () => {
  const env = stackEnv(system.url, { ORDER_CONFIRMATION_TIMEOUT: String(CONFIRMATION_TIMEOUT_S) });
  const [a, b] = await Promise.all([
    processes.startWeb(env, 'web-1'),
    processes.startWeb(env, 'web-2'),
    processes.startWorker('worker', env, 'worker-1'),
    processes.startWorker('worker', env, 'worker-2'),
    processes.startWorker('relay', env),
  ]);
  web1 = new ApiClient(a.baseUrl);
  web2 = new ApiClient(b.baseUrl);
  ({ commands } = system.commandsQueue(env, 'worker'));
});

async function succeeded(api: ApiClient, path: string, body: unknown): Promise<Accepted> {
  const response = await api.post<Accepted>(path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  const outcome = await api.settled(response.body.commandId);
  expect(outcome.status, `${JSON.stringify(outcome)}\n${processes.output()}`).toBe('succeeded');
  return response.body;
}

async function newProduct(api: ApiClient, stock: number): Promise<string> {
  const sku = `SKU-${Math.random().toString(36).slice(2, 10)}`;
  const product = await succeeded(api, '/v1/products', { sku, name: 'Mug', price: { amount: '12.50', currency: 'EUR' }, stock });
  return product.productId ?? '';
}

const stockOf = async (api: ApiClient, productId: string): Promise<number> => (await api.get(`/v1/products/${productId}`)).body.stock;

const restocks = async () =>
  Number((await system.db.query(`select count(*) as n from processed_commands where command_type = 'RestockProduct'`)).rows[0].n);

describe('a schedule every second, two web and two worker processes', () => {
  it('runs exactly one command per tick over ten seconds, and no more once deleted', async () => {
    const productId = await newProduct(web1, 0);

    const created = await web1.post('/v1/schedules', {
      name: 'restock a mug a second',
      every: '1',
      command: { type: 'RestockProduct', body: { productId, quantity: 1 } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const scheduleId: string = created.body.id;
    // The other web process reads it, with its next run.
    const read = await web2.get(`/v1/schedules/${scheduleId}`);
    expect(read.status).toBe(200);
    expect(read.body.nextRunAt).toEqual(expect.any(String));

    await sleep(10_000);
    const listed = await web2.get(`/v1/schedules/${scheduleId}/runs?limit=100`);
    expect(listed.status).toBe(200);
    const run = listed.body.items[0];
    expect(run).toMatchObject({ type: 'RestockProduct', statusUrl: `/v1/commands/${run.commandId}` });
    // A run is an ordinary command: its own status route answers, on either web process.
    expect((await web1.get(run.statusUrl)).body.commandId).toBe(run.commandId);

    const deleted = await web2.delete(`/v1/schedules/${scheduleId}`);
    expect(deleted.status).toBe(204);
    expect((await web1.get(`/v1/schedules/${scheduleId}`)).status).toBe(404);

    // Let the run of a tick that was being handled at the deletion settle, then watch: nothing more.
    await waitFor(async () => (await commands.getJobCountByTypes('waiting', 'active', 'delayed')) === 0, 10_000, 'the last runs to settle');
    const runs = await restocks();
    const stock = await stockOf(web1, productId);
    await sleep(3_000);
    expect(await restocks()).toBe(runs);
    expect(await stockOf(web1, productId)).toBe(stock);

    // Every tick BullMQ made became exactly one command, and every command restocked once.
    const ticks = (await commands.getJobs(['completed', 'failed'])).filter(
      (job) => job.name === SCHEDULE_TICK_JOB && job.id?.startsWith(`repeat:${scheduleId}:`),
    );
    const tickTimes = ticks.map((job) => Number(job.id?.split(':').at(-1))).sort((a, b) => a - b);
    const commandIds = new Set(ticks.map((job) => (job.returnvalue as { commandId: string }).commandId));
    expect(await commands.getJobCountByTypes('failed')).toBe(0);
    expect(new Set(tickTimes).size).toBe(ticks.length);
    expect(commandIds.size).toBe(ticks.length);
    expect(runs).toBe(ticks.length);
    expect(stock).toBe(runs);
    // Ticks a second apart (a busy machine may skip one, never doubles one), enough of them to span the ten seconds.
    const gaps = tickTimes.slice(1).map((time, i) => time - (tickTimes[i] ?? 0));
    expect(gaps.every((gap) => gap > 0 && gap % 1000 === 0), `gaps ${gaps.join(',')}`).toBe(true);
    expect(runs).toBeGreaterThanOrEqual(5);
    const skipped = gaps.reduce((sum, gap) => sum + gap / 1000 - 1, 0);
    const workers = ['worker-1', 'worker-2'].map((name) => processes.count(name, 'scheduled run started'));
    console.log(`schedule every 1 s: ${runs} runs in ${ticks.length} ticks (${skipped} skipped), started by the workers ${workers.join(' + ')}`);
  });

  it('refuses a schedule with a bad command body or cron expression with 400', async () => {
    const badBody = await web1.post('/v1/schedules', {
      name: 'bad body',
      every: '60',
      command: { type: 'RestockProduct', body: { productId: '0190a000-0000-7000-8000-000000000000', quantity: -1 } },
    });
    const badCron = await web2.post('/v1/schedules', {
      name: 'bad cron',
      cron: '0 0 * *',
      command: { type: 'ShipOrder', body: { orderId: '0190a000-0000-7000-8000-000000000000' } },
    });

    for (const [response, path] of [
      [badBody, 'command.body.quantity'],
      [badCron, 'cron'],
    ] as const) {
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(path);
    }
    expect((await web1.get('/v1/schedules')).body.items).toEqual([]);
  });
});

describe(`orders with ORDER_CONFIRMATION_TIMEOUT=${CONFIRMATION_TIMEOUT_S}`, () => {
  it('cancel an order left pending, give its stock back and publish order.cancelled; leave a confirmed one alone', async () => {
    const user = await succeeded(web1, '/v1/users', { email: 'grace@example.com', name: 'Grace Hopper' });
    const productId = await newProduct(web1, 10);
    const items = (quantity: number) => [{ productId, quantity }];
    const confirmed = await succeeded(web1, '/v1/orders', { userId: user.userId, items: items(2) });
    await succeeded(web2, `/v1/orders/${confirmed.orderId}/confirm`, {});
    const left = await succeeded(web2, '/v1/orders', { userId: user.userId, items: items(3) });
    expect(await stockOf(web1, productId)).toBe(5);

    const expired = await waitFor(
      async () => {
        const order = await web1.get(`/v1/orders/${left.orderId}`);
        return order.body.status === 'cancelled' && order.body;
      },
      20_000,
      () => `order ${left.orderId} to expire\n${processes.output()}`,
    );

    expect(expired.cancellationReason).toBe('not confirmed in time');
    expect(await stockOf(web1, productId)).toBe(8);
    // The ExpireOrder of each order ran as an ordinary command with an id derived from the order.
    const expiry = await web2.settled(expireOrderCommandId(left.orderId ?? ''));
    expect(expiry).toMatchObject({ type: 'ExpireOrder', status: 'succeeded', result: { orderId: left.orderId, status: 'cancelled', expired: true } });
    // The confirmed order, placed before the one that expired, never had an expiry to run: it
    // left the pending orders the relay sweeps, so nothing of it waits in Redis either.
    expect((await web2.get(`/v1/commands/${expireOrderCommandId(confirmed.orderId ?? '')}`)).status).toBe(404);
    expect(await commands.getJobCountByTypes('waiting', 'delayed', 'prioritized', 'active')).toBe(0);
    expect((await web1.get(`/v1/orders/${confirmed.orderId}`)).body.status).toBe('confirmed');
    expect(await stockOf(web1, productId)).toBe(8);

    // order.cancelled is published by the relay, and becomes the cancellation notice to Grace.
    const published = await waitFor(async () => {
      const { rows } = await system.db.query(
        `select o.id from outbox_messages o where o.type = 'order.cancelled' and o.aggregate_id = $1 and o.published_at is not null`,
        [left.orderId],
      );
      return rows[0]?.id as string | undefined;
    }, 10_000);
    const { rows: mails } = await system.db.query('select template, to_address from email_messages where event_id = $1', [published]);
    expect(mails).toEqual([{ template: 'cancellation_notice', to_address: 'grace@example.com' }]);
    const cancelledEvents = await system.db.query(`select count(*)::int as n from outbox_messages where type = 'order.cancelled'`);
    expect(cancelledEvents.rows[0].n).toBe(1);
  });
});
