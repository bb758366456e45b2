// An order's expiry takes no room under the ceiling on queued commands before it is due
// (docs/adr/0020-order-expiry-sweep.md). Before, every order placed in the last
// ORDER_CONFIRMATION_TIMEOUT held a delayed ExpireOrder, confirmed or not, and a steady 56
// orders/s filled the default MAX_QUEUED_COMMANDS: every command was then refused with 503.
import type { Queue } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNFINISHED_STATES } from '../../src/infrastructure/queue/bullmq-queue-depth.js';
import { ApiClient, type Accepted } from '../support/api-client.js';
import { stackEnv, systemOnFreshDatabase } from '../support/processes.js';

const CEILING = 10;

const system = systemOnFreshDatabase();
const { processes } = system;
let api: ApiClient;
let commands: Queue;

beforeAll(async () => {
  // The default expiry (30 minutes): no order of this test is due.
  const env = stackEnv(system.url, { MAX_QUEUED_COMMANDS: String(CEILING) });
  const [web] = await Promise.all([processes.startWeb(env), processes.startWorker('worker', env), processes.startWorker('relay', env)]);
  api = new ApiClient(web.baseUrl);
  ({ commands } = system.commandsQueue(env));
});

async function succeeded(path: string, body: unknown): Promise<Accepted> {
  const response = await api.post<Accepted>(path, body);
  expect(response.status, `${path}: ${JSON.stringify(response.body)}`).toBe(202);
  const outcome = await api.settled(response.body.commandId);
  expect(outcome.status, `${JSON.stringify(outcome)}\n${processes.output()}`).toBe('succeeded');
  return response.body;
}

const published = async () =>
  Number((await system.db.query(`select count(*) as n from outbox_messages where type = 'order.placed' and published_at is not null`)).rows[0].n);

describe(`MAX_QUEUED_COMMANDS=${CEILING} with orders that expire after 30 minutes`, () => {
  it('accepts three times the ceiling of orders placed and confirmed one after the other', async () => {
    const user = await succeeded('/v1/users', { email: 'ceiling@example.com', name: 'Ceil' });
    const product = await succeeded('/v1/products', { sku: 'CEIL-1', name: 'Cup', price: { amount: '3.00', currency: 'EUR' }, stock: 1000 });

    for (let i = 0; i < 3 * CEILING; i++) {
      const order = await succeeded('/v1/orders', { userId: user.userId, items: [{ productId: product.productId, quantity: 1 }] });
      // The relay has published this order's order.placed before the next command is sent.
      await expect.poll(published, { timeout: 10_000, interval: 20 }).toBe(i + 1);
      await succeeded(`/v1/orders/${order.orderId}/confirm`, {});
    }

    expect((await api.get(`/v1/products/${product.productId}`)).body.stock).toBe(1000 - 3 * CEILING);
    expect(await commands.getJobCountByTypes(...UNFINISHED_STATES)).toBe(0);
  });
});
