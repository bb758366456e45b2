// End to end: the web and worker processes as they run in production, driven over HTTP only.
// The database and the queue are read directly for what the API does not show (job attempts).
import type { Queue } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, type Accepted, type CommandStatus } from '../support/api-client.js';
import { stackEnv, systemOnFreshDatabase } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const system = systemOnFreshDatabase();
const { processes } = system;
let commandsQueue: Queue;
let api: ApiClient;

beforeAll(async () => {
  const env = stackEnv(system.url, { WORKER_CONCURRENCY: '4' });
  ({ commands: commandsQueue } = system.commandsQueue(env));
  const [web] = await Promise.all([processes.startWeb(env), processes.startWorker('worker', env)]);
  api = new ApiClient(web.baseUrl);
});

const count = async (sql: string, params: unknown[] = []) => Number((await system.db.query<{ n: string }>(sql, params)).rows[0]?.n);

/** POSTs a command, checks the 202 and returns its answer. */
async function send(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<Accepted> {
  const response = await api.post<Accepted>(path, body, headers);
  expect(response.status, `POST ${path}: ${JSON.stringify(response.body)}\n${processes.output()}`).toBe(202);
  expect(response.body.statusUrl).toBe(`/v1/commands/${response.body.commandId}`);
  return response.body;
}

/** Waits for the command to settle and checks it ended as `status`. */
async function settled(commandId: string, status: 'succeeded' | 'failed'): Promise<CommandStatus> {
  const outcome = await api.settled(commandId).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${processes.output()}`);
  });
  expect(outcome.status, `${JSON.stringify(outcome)}\n${processes.output()}`).toBe(status);
  return outcome;
}

describe('commands over HTTP with a worker process', () => {
  // Filled in by the first test and used by the next ones (they run in order).
  let userId: string;
  let widgetId: string;
  let gadgetId: string;
  let firstOrderId: string;

  /** Sends PlaceOrder for the user: `widgets` widgets and `gadgets` gadgets. */
  const placeOrder = (widgets: number, gadgets: number) =>
    send('/v1/orders', {
      userId,
      items: [
        { productId: widgetId, quantity: widgets },
        { productId: gadgetId, quantity: gadgets },
      ],
    });
  /** The stock of the widget and of the gadget, as the API shows it. */
  const stocks = async () => [(await api.get(`/v1/products/${widgetId}`)).body.stock, (await api.get(`/v1/products/${gadgetId}`)).body.stock];

  it('registers a user and adds products through the queue', async () => {
    const user = await send('/v1/users', { email: 'ada@example.com', name: 'Ada Lovelace' });
    const widget = await send('/v1/products', { sku: 'WIDGET-1', name: 'Widget', price: { amount: '19.99', currency: 'EUR' }, stock: 10 });
    const gadget = await send('/v1/products', { sku: 'GADGET-1', name: 'Gadget', price: { amount: '0.10', currency: 'EUR' }, stock: 8 });
    userId = user.userId ?? '';
    widgetId = widget.productId ?? '';
    gadgetId = gadget.productId ?? '';

    const registered = await settled(user.commandId, 'succeeded');
    expect(registered).toMatchObject({ commandId: user.commandId, type: 'RegisterUser', attempts: 1 });
    await settled(widget.commandId, 'succeeded');
    await settled(gadget.commandId, 'succeeded');

    const product = await api.get(`/v1/products/${widgetId}`);
    expect(product.status).toBe(200);
    expect(product.body).toMatchObject({ productId: widgetId, sku: 'WIDGET-1', price: { amount: '19.99', currency: 'EUR' }, stock: 10 });
  });

  it('places an order: exact total, captured prices, stock decremented', async () => {
    const placed = await placeOrder(3, 7);
    firstOrderId = placed.orderId ?? '';
    // 3 × 19.99 + 7 × 0.10 = 60.67 exactly (in binary floating point it is 60.670000000000016).
    const outcome = await settled(placed.commandId, 'succeeded');
    expect(outcome).toMatchObject({ type: 'PlaceOrder', attempts: 1, result: { orderId: firstOrderId, total: { amount: '60.67', currency: 'EUR' } } });

    const order = await api.get(`/v1/orders/${firstOrderId}`);
    expect(order.status).toBe(200);
    expect(order.body).toMatchObject({
      orderId: firstOrderId,
      userId,
      status: 'pending',
      total: { amount: '60.67', currency: 'EUR' },
      cancellationReason: null,
    });
    expect(order.body.items).toEqual([
      { productId: widgetId, sku: 'WIDGET-1', name: 'Widget', quantity: 3, unitPrice: { amount: '19.99', currency: 'EUR' }, lineTotal: { amount: '59.97', currency: 'EUR' } },
      { productId: gadgetId, sku: 'GADGET-1', name: 'Gadget', quantity: 7, unitPrice: { amount: '0.10', currency: 'EUR' }, lineTotal: { amount: '0.70', currency: 'EUR' } },
    ]);
    expect(await stocks()).toEqual([7, 1]);
  });

  it('fails an order for more than the stock with insufficient_stock, once, and changes nothing', async () => {
    const placed = await placeOrder(1, 2);
    const outcome = await settled(placed.commandId, 'failed');
    expect(outcome).toMatchObject({ type: 'PlaceOrder', attempts: 1, error: { code: 'insufficient_stock' } });
    expect(outcome.error?.message).toMatch(/stock/i);
    expect(outcome.result).toBeUndefined();

    // A domain failure is not retried: the job failed on its first and only attempt.
    // The outcome row commits before BullMQ marks the job failed: wait for that, then read it.
    await waitFor(async () => (await commandsQueue.getJobState(placed.commandId)) === 'failed', 10_000, 'the job to fail');
    const job = await commandsQueue.getJob(placed.commandId);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/^insufficient_stock: /);

    expect((await api.get(`/v1/orders/${placed.orderId}`)).status).toBe(404);
    // All or nothing: the widget line could have been served, and was not taken either.
    expect(await stocks()).toEqual([7, 1]);
    expect(await count(`select count(*) as n from processed_commands where command_id = $1 and status = 'failed'`, [placed.commandId])).toBe(1);
  });

  it("lists the user's orders and summarises them exactly", async () => {
    const second = await send('/v1/orders', { userId, items: [{ productId: widgetId, quantity: 1 }] });
    await settled(second.commandId, 'succeeded');

    const page = await api.get(`/v1/users/${userId}/orders?page=1&pageSize=10`);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 2, page: 1, pageSize: 10 });
    // Newest first.
    expect(page.body.items.map((order: { orderId: string }) => order.orderId)).toEqual([second.orderId, firstOrderId]);
    expect(page.body.items[0].total).toEqual({ amount: '19.99', currency: 'EUR' });

    const smallPage = await api.get(`/v1/users/${userId}/orders?page=2&pageSize=1`);
    expect(smallPage.body.total).toBe(2);
    expect(smallPage.body.items.map((order: { orderId: string }) => order.orderId)).toEqual([firstOrderId]);

    // 60.67 + 19.99 = 80.66; the average 40.33 is exact here.
    const summary = await api.get(`/v1/users/${userId}/order-summary`);
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({ totalOrders: 2, totalSpent: '80.66', averageOrderValue: '40.33', currency: 'EUR' });
  });

  it('confirms, ships and delivers an order; cancelling it afterwards fails with invalid_transition', async () => {
    for (const [step, status] of [
      ['confirm', 'confirmed'],
      ['ship', 'shipped'],
      ['deliver', 'delivered'],
    ] as const) {
      const accepted = await send(`/v1/orders/${firstOrderId}/${step}`);
      expect(accepted.orderId).toBe(firstOrderId);
      await settled(accepted.commandId, 'succeeded');
      const order = await api.get(`/v1/orders/${firstOrderId}`);
      expect(order.body.status, step).toBe(status);
    }

    const cancel = await send(`/v1/orders/${firstOrderId}/cancel`, { reason: 'changed my mind' });
    const outcome = await settled(cancel.commandId, 'failed');
    expect(outcome).toMatchObject({ type: 'CancelOrder', attempts: 1, error: { code: 'invalid_transition' } });
    const order = await api.get(`/v1/orders/${firstOrderId}`);
    expect(order.body).toMatchObject({ status: 'delivered', cancellationReason: null });
    const job = await commandsQueue.getJob(cancel.commandId);
    expect(job?.attemptsMade).toBe(1);
  });

  it('answers a replayed Idempotency-Key with the first commandId and runs the command once', async () => {
    const body = { email: 'grace@example.com', name: 'Grace Hopper' };
    const headers = { 'idempotency-key': 'e2e-register-grace' };
    const first = await api.post<Accepted>('/v1/users', body, headers);
    expect(first.status).toBe(202);
    const replay = await api.post<Accepted>('/v1/users', body, headers);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);

    await settled(first.body.commandId, 'succeeded');
    const again = await api.post<Accepted>('/v1/users', body, headers);
    expect(again.body).toEqual(first.body);

    // The same key with another body is refused.
    const reused = await api.post('/v1/users', { ...body, name: 'Someone Else' }, headers);
    expect(reused.status).toBe(422);

    expect(await count('select count(*) as n from users where email = $1', [body.email])).toBe(1);
    expect(await count(`select count(*) as n from processed_commands where command_type = 'RegisterUser'`)).toBe(2);
    expect(await commandsQueue.getJobCountByTypes('completed', 'failed', 'waiting', 'active', 'delayed')).toBe(
      // user, 2 products, 3 orders, confirm, ship, deliver, cancel, grace: one job each.
      11,
    );
  });
});
