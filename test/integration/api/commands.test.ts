import { describe, expect, test } from 'vitest';
import { commandJobOptions } from '../../../queues/index.js';
import { UUID_V7, allJobs, apiForFile, auth, startApi } from '../../support/in-process-api.js';

const SENT_BY = { keyId: expect.stringMatching(/^env:[0-9a-f]{8}$/) as string, name: 'API_KEYS #1' };

const api = apiForFile({ emptyCommandsBeforeEach: true });

const ORDER_ID = '01930000-0000-7000-8000-00000000aaaa';
const PRODUCT_ID = '01930000-0000-7000-8000-00000000bbbb';
const USER_ID = '01930000-0000-7000-8000-00000000cccc';

interface Case {
  type: string;
  url: string;
  body: Record<string, unknown> | undefined;
  idField: 'userId' | 'productId' | 'orderId';
  /** Set when the aggregate id comes from the path. */
  pathId?: string;
  /** The payload beyond the ids (the body after validation). */
  expected: Record<string, unknown>;
}

const cases: Case[] = [
  {
    type: 'RegisterUser',
    url: '/v1/users',
    body: { email: 'ada@example.com', name: '  Ada Lovelace ' },
    idField: 'userId',
    expected: { email: 'ada@example.com', name: 'Ada Lovelace' },
  },
  {
    type: 'AddProduct',
    url: '/v1/products',
    body: { sku: 'TEA-1', name: 'Green tea', price: { amount: '12.50', currency: 'EUR' }, stock: 10 },
    idField: 'productId',
    expected: { sku: 'TEA-1', name: 'Green tea', price: { amount: '12.50', currency: 'EUR' }, stock: 10 },
  },
  {
    type: 'RestockProduct',
    url: `/v1/products/${PRODUCT_ID}/restock`,
    body: { quantity: 5 },
    idField: 'productId',
    pathId: PRODUCT_ID,
    expected: { quantity: 5 },
  },
  {
    type: 'PlaceOrder',
    url: '/v1/orders',
    body: { userId: USER_ID, items: [{ productId: PRODUCT_ID, quantity: 2 }] },
    idField: 'orderId',
    expected: { userId: USER_ID, items: [{ productId: PRODUCT_ID, quantity: 2 }] },
  },
  { type: 'ConfirmOrder', url: `/v1/orders/${ORDER_ID}/confirm`, body: {}, idField: 'orderId', pathId: ORDER_ID, expected: {} },
  { type: 'ShipOrder', url: `/v1/orders/${ORDER_ID}/ship`, body: {}, idField: 'orderId', pathId: ORDER_ID, expected: {} },
  { type: 'DeliverOrder', url: `/v1/orders/${ORDER_ID}/deliver`, body: {}, idField: 'orderId', pathId: ORDER_ID, expected: {} },
  {
    type: 'CancelOrder',
    url: `/v1/orders/${ORDER_ID}/cancel`,
    body: { reason: 'changed my mind' },
    idField: 'orderId',
    pathId: ORDER_ID,
    expected: { reason: 'changed my mind' },
  },
];

describe('command routes', () => {
  test.each(cases)('POST $url queues $type and answers 202', async (c) => {
    const response = await api.app.inject({ method: 'POST', url: c.url, headers: auth, payload: c.body });

    expect(response.statusCode).toBe(202);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['commandId', c.idField, 'statusUrl'].sort());
    expect(body.commandId).toMatch(UUID_V7);
    expect(body.statusUrl).toBe(`/v1/commands/${body.commandId}`);
    expect(response.headers.location).toBe(body.statusUrl);
    if (c.pathId) expect(body[c.idField]).toBe(c.pathId);
    else {
      expect(body[c.idField]).toMatch(UUID_V7);
      expect(body[c.idField]).not.toBe(body.commandId);
    }

    const job = await api.commands.getJob(body.commandId);
    expect(job).toBeDefined();
    expect(job!.id).toBe(body.commandId);
    expect(job!.name).toBe(c.type);
    // The job records the key that sent it: API_KEYS' first key here.
    expect(job!.data).toEqual({ ...c.expected, commandId: body.commandId, [c.idField]: body[c.idField], sentBy: SENT_BY });
    // The queue's defaults (queues/job-options.ts) apply: retries for infrastructure errors.
    expect(job!.opts.attempts).toBe(commandJobOptions.attempts);
    expect(await allJobs(api.commands)).toHaveLength(1);
  });

  test('every request gets new ids', async () => {
    const body = { email: 'grace@example.com', name: 'Grace' };
    const first = (await api.app.inject({ method: 'POST', url: '/v1/users', headers: auth, payload: body })).json();
    const second = (await api.app.inject({ method: 'POST', url: '/v1/users', headers: auth, payload: body })).json();
    expect(second.commandId).not.toBe(first.commandId);
    expect(second.userId).not.toBe(first.userId);
    expect(await allJobs(api.commands)).toHaveLength(2);
  });

  test('confirm, ship and deliver may be sent without a body', async () => {
    const response = await api.app.inject({ method: 'POST', url: `/v1/orders/${ORDER_ID}/ship`, headers: auth });
    expect(response.statusCode).toBe(202);
    const job = await api.commands.getJob(response.json().commandId);
    expect(job!.data).toEqual({ commandId: response.json().commandId, orderId: ORDER_ID, sentBy: SENT_BY });
  });

  test('an upper-case UUID in the path is normalised to lower case', async () => {
    const response = await api.app.inject({
      method: 'POST',
      url: `/v1/products/${PRODUCT_ID.toUpperCase()}/restock`,
      headers: auth,
      payload: { quantity: 1 },
    });
    expect(response.statusCode).toBe(202);
    expect(response.json().productId).toBe(PRODUCT_ID);
    const job = await api.commands.getJob(response.json().commandId);
    expect(job!.data.productId).toBe(PRODUCT_ID);
  });

  test('ids come from the injected generator', async () => {
    const ids = ['01930000-0000-7000-8000-000000000001', '01930000-0000-7000-8000-000000000002'];
    const custom = await startApi({ newId: () => ids.shift() ?? 'exhausted' });
    try {
      const response = await custom.app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: auth,
        payload: { email: 'x@example.com', name: 'X' },
      });
      expect(response.json()).toMatchObject({
        commandId: '01930000-0000-7000-8000-000000000001',
        userId: '01930000-0000-7000-8000-000000000002',
      });
    } finally {
      await custom.close();
    }
  });
});
