import { beforeAll, describe, expect, test } from 'vitest';
import type { OrderDto, ProductDto } from '../../../src/application/commerce/queries/read-model.js';
import { auth, expectProblem, apiForFile } from '../../support/in-process-api.js';

const api = apiForFile();

const USER_ID = '01930000-0000-7000-8000-00000000cccc';
const PRODUCT_ID = '01930000-0000-7000-8000-00000000bbbb';
const UNKNOWN_ID = '01930000-0000-7000-8000-0000000fffff';
const orderId = (n: number) => `01930000-0000-7000-9000-${n.toString(16).padStart(12, '0')}`;

const euros = (amount: string) => ({ amount, currency: 'EUR' });

function anOrder(n: number, overrides: Partial<OrderDto> = {}): OrderDto {
  return {
    orderId: orderId(n),
    userId: USER_ID,
    status: 'pending',
    items: [
      { productId: PRODUCT_ID, sku: 'TEA-1', name: 'Green tea', quantity: 2, unitPrice: euros('12.50'), lineTotal: euros('25.00') },
    ],
    total: euros('25.00'),
    cancellationReason: null,
    placedAt: `2026-01-${String(n).padStart(2, '0')}T10:00:00.000Z`,
    updatedAt: `2026-01-${String(n).padStart(2, '0')}T10:00:00.000Z`,
    ...overrides,
  };
}

const get = (url: string) => api.app.inject({ method: 'GET', url, headers: auth });

/** GETs `url`, expects the answer `status` with a problem body, and answers that body. */
async function problemOf(url: string, status: 400 | 404) {
  const response = await get(url);
  expect(response.statusCode).toBe(status);
  return expectProblem(response);
}

describe('GET /v1/commands/:commandId', () => {
  test('a queued command', async () => {
    const accepted = await api.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: auth,
      payload: { email: 'ada@example.com', name: 'Ada' },
    });
    const { commandId, statusUrl } = accepted.json();

    const response = await get(statusUrl);
    expect(response.statusCode).toBe(200);
    // The status names the key that sent the command.
    expect(response.json()).toEqual({ commandId, type: 'RegisterUser', status: 'queued', attempts: 0, sentBy: 'API_KEYS #1' });
  });

  test('a processed command reads its outcome from the read model', async () => {
    const commandId = '01930000-0000-7000-8000-000000000042';
    api.readModel.processed.set(commandId, {
      commandId,
      type: 'PlaceOrder',
      status: 'failed',
      result: null,
      error: { code: 'insufficient_stock', message: 'not enough tea' },
      processedAt: '2026-01-01T00:00:00.000Z',
    });
    const response = await get(`/v1/commands/${commandId}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      commandId,
      type: 'PlaceOrder',
      status: 'failed',
      attempts: 1,
      error: { code: 'insufficient_stock', message: 'not enough tea' },
    });
  });

  test('an unknown command → 404 problem', async () => {
    expect(await problemOf(`/v1/commands/${UNKNOWN_ID}`, 404)).toMatchObject({ status: 404, instance: `/v1/commands/${UNKNOWN_ID}` });
  });

  test('a bad id → 400', async () => {
    expect((await problemOf('/v1/commands/42', 400)).errors).toEqual([{ in: 'params', path: 'commandId', message: expect.any(String) }]);
  });
});

describe('GET /v1/orders/:orderId', () => {
  test('404 until the order is placed, then the order', async () => {
    await problemOf(`/v1/orders/${orderId(1)}`, 404);

    api.readModel.orders.set(orderId(1), anOrder(1));
    const found = await get(`/v1/orders/${orderId(1)}`);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toEqual(anOrder(1));
  });

  test('a bad id → 400', async () => {
    await problemOf('/v1/orders/not-a-uuid', 400);
  });
});

describe('GET /v1/products/:productId', () => {
  test('the product with its stock, or 404', async () => {
    const product: ProductDto = {
      productId: PRODUCT_ID,
      sku: 'TEA-1',
      name: 'Green tea',
      price: euros('12.50'),
      stock: 7,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
    };
    api.readModel.products.set(PRODUCT_ID, product);
    const found = await get(`/v1/products/${PRODUCT_ID}`);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toEqual(product);

    await problemOf(`/v1/products/${UNKNOWN_ID}`, 404);
  });
});

describe('GET /v1/users/:userId/orders', () => {
  beforeAll(() => {
    for (let n = 1; n <= 25; n += 1) api.readModel.orders.set(orderId(n), anOrder(n));
  });

  test('defaults to page 1 of 20', async () => {
    const response = await get(`/v1/users/${USER_ID}/orders`);
    expect(response.statusCode).toBe(200);
    const page = response.json();
    expect(page).toMatchObject({ total: 25, page: 1, pageSize: 20 });
    expect(page.items).toHaveLength(20);
  });

  test('page and pageSize select a slice', async () => {
    const response = await get(`/v1/users/${USER_ID}/orders?page=3&pageSize=10`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ total: 25, page: 3, pageSize: 10 });
    expect(response.json().items).toHaveLength(5);
  });

  test('pageSize 100 is allowed', async () => {
    const response = await get(`/v1/users/${USER_ID}/orders?pageSize=100`);
    expect(response.statusCode).toBe(200);
    expect(response.json().items).toHaveLength(25);
  });

  test.each([
    ['page=0', 'page'],
    ['page=-1', 'page'],
    ['page=1.5', 'page'],
    ['page=abc', 'page'],
    ['pageSize=0', 'pageSize'],
    ['pageSize=101', 'pageSize'],
    ['pageSize=ten', 'pageSize'],
  ])('%s → 400', async (query, path) => {
    expect((await problemOf(`/v1/users/${USER_ID}/orders?${query}`, 400)).errors).toEqual([{ in: 'querystring', path, message: expect.any(String) }]);
  });

  test('a bad user id → 400', async () => {
    await problemOf('/v1/users/nobody/orders', 400);
  });
});

describe('GET /v1/users/:userId/order-summary', () => {
  test('passes the range to the read model', async () => {
    const response = await get(
      `/v1/users/${USER_ID}/order-summary?from=2026-01-01T00:00:00Z&to=2026-01-10T00:00:00%2B02:00`,
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ totalOrders: 9, totalSpent: '225.00', averageOrderValue: '25.00', currency: 'EUR' });
    expect(api.readModel.summaryCalls.at(-1)).toEqual({
      userId: USER_ID,
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-01-09T22:00:00Z'),
    });
  });

  test('without a range, over all orders', async () => {
    const response = await get(`/v1/users/${USER_ID}/order-summary`);
    expect(response.statusCode).toBe(200);
    expect(api.readModel.summaryCalls.at(-1)).toEqual({ userId: USER_ID, from: null, to: null });
  });

  test('from equal to to is allowed', async () => {
    const response = await get(`/v1/users/${USER_ID}/order-summary?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`);
    expect(response.statusCode).toBe(200);
  });

  test.each([
    ['from after to', 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
    ['a date without a time', 'from=2026-01-01', 'from'],
    ['not a date', 'to=yesterday', 'to'],
  ])('%s → 400', async (_name, query, path) => {
    expect((await problemOf(`/v1/users/${USER_ID}/order-summary?${query}`, 400)).errors?.map((error) => error.path)).toEqual([path]);
  });
});
