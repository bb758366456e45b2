import { describe, expect, test } from 'vitest';
import { allJobs, auth, expectProblem, postRaw, apiForFile } from '../../support/in-process-api.js';

const api = apiForFile({ emptyCommandsBeforeEach: true });

const ORDER_ID = '01930000-0000-7000-8000-00000000aaaa';
const PRODUCT_ID = '01930000-0000-7000-8000-00000000bbbb';
const USER_ID = '01930000-0000-7000-8000-00000000cccc';
const productId = (n: number) => `01930000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

const user = { email: 'ada@example.com', name: 'Ada' };
const product = { sku: 'TEA-1', name: 'Green tea', price: { amount: '12.50', currency: 'EUR' }, stock: 10 };
const order = { userId: USER_ID, items: [{ productId: PRODUCT_ID, quantity: 1 }] };
const long = 'x'.repeat(10_000);

interface BadBody {
  name: string;
  url: string;
  body: unknown;
  /** Every path the problem must list (others may be listed too). */
  paths: string[];
}

const RESTOCK = `/v1/products/${PRODUCT_ID}/restock`;
const CONFIRM = `/v1/orders/${ORDER_ID}/confirm`;
const CANCEL = `/v1/orders/${ORDER_ID}/cancel`;

const badBodies: BadBody[] = [
  // users
  { name: 'missing email', url: '/v1/users', body: { name: 'Ada' }, paths: ['email'] },
  { name: 'bad email', url: '/v1/users', body: { ...user, email: 'not-an-email' }, paths: ['email'] },
  { name: 'email as a number', url: '/v1/users', body: { ...user, email: 42 }, paths: ['email'] },
  { name: 'email over 254 chars', url: '/v1/users', body: { ...user, email: `${'a'.repeat(250)}@example.com` }, paths: ['email'] },
  { name: '10k-char name', url: '/v1/users', body: { ...user, name: long }, paths: ['name'] },
  { name: 'blank name', url: '/v1/users', body: { ...user, name: '   ' }, paths: ['name'] },
  { name: 'unknown top-level field', url: '/v1/users', body: { ...user, role: 'admin' }, paths: ['role'] },
  { name: 'array instead of object', url: '/v1/users', body: [user], paths: [''] },
  { name: 'JSON null', url: '/v1/users', body: null, paths: [''] },
  // products
  { name: 'amount as a number', url: '/v1/products', body: { ...product, price: { amount: 12.5, currency: 'EUR' } }, paths: ['price.amount'] },
  { name: 'currency "eur"', url: '/v1/products', body: { ...product, price: { amount: '12.50', currency: 'eur' } }, paths: ['price.currency'] },
  { name: 'currency "XYZ"', url: '/v1/products', body: { ...product, price: { amount: '12.50', currency: 'XYZ' } }, paths: ['price.currency'] },
  { name: 'currency "EU"', url: '/v1/products', body: { ...product, price: { amount: '12.50', currency: 'EU' } }, paths: ['price.currency'] },
  { name: 'amount 12.505 EUR', url: '/v1/products', body: { ...product, price: { amount: '12.505', currency: 'EUR' } }, paths: ['price.amount'] },
  { name: 'amount 10.5 JPY', url: '/v1/products', body: { ...product, price: { amount: '10.5', currency: 'JPY' } }, paths: ['price.amount'] },
  { name: 'negative amount', url: '/v1/products', body: { ...product, price: { amount: '-1.00', currency: 'EUR' } }, paths: ['price.amount'] },
  { name: 'amount in exponent notation', url: '/v1/products', body: { ...product, price: { amount: '1e3', currency: 'EUR' } }, paths: ['price.amount'] },
  { name: 'float stock', url: '/v1/products', body: { ...product, stock: 1.5 }, paths: ['stock'] },
  { name: 'negative stock', url: '/v1/products', body: { ...product, stock: -1 }, paths: ['stock'] },
  { name: 'stock as a string', url: '/v1/products', body: { ...product, stock: '10' }, paths: ['stock'] },
  { name: 'unknown nested field', url: '/v1/products', body: { ...product, price: { ...product.price, tax: '0.20' } }, paths: ['price.tax'] },
  { name: 'sku with a space', url: '/v1/products', body: { ...product, sku: 'TEA 1' }, paths: ['sku'] },
  { name: 'missing price', url: '/v1/products', body: { sku: 'TEA-1', name: 'Green tea', stock: 1 }, paths: ['price'] },
  // restock
  { name: 'zero quantity', url: RESTOCK, body: { quantity: 0 }, paths: ['quantity'] },
  { name: 'negative quantity', url: RESTOCK, body: { quantity: -3 }, paths: ['quantity'] },
  { name: 'fractional quantity', url: RESTOCK, body: { quantity: 2.5 }, paths: ['quantity'] },
  { name: 'quantity over the maximum', url: RESTOCK, body: { quantity: 1_000_001 }, paths: ['quantity'] },
  { name: 'quantity as a string', url: RESTOCK, body: { quantity: '5' }, paths: ['quantity'] },
  // orders
  { name: 'bad userId', url: '/v1/orders', body: { ...order, userId: 'not-a-uuid' }, paths: ['userId'] },
  { name: 'no items', url: '/v1/orders', body: { ...order, items: [] }, paths: ['items'] },
  {
    name: '101 items',
    url: '/v1/orders',
    body: { ...order, items: Array.from({ length: 101 }, (_, n) => ({ productId: productId(n + 1), quantity: 1 })) },
    paths: ['items'],
  },
  {
    name: 'duplicate product lines',
    url: '/v1/orders',
    body: { ...order, items: [{ productId: PRODUCT_ID, quantity: 1 }, { productId: PRODUCT_ID, quantity: 2 }] },
    paths: ['items'],
  },
  { name: 'zero item quantity', url: '/v1/orders', body: { ...order, items: [{ productId: PRODUCT_ID, quantity: 0 }] }, paths: ['items.0.quantity'] },
  {
    name: 'negative item quantity',
    url: '/v1/orders',
    body: { ...order, items: [{ productId: PRODUCT_ID, quantity: 1 }, { productId: productId(9), quantity: -1 }] },
    paths: ['items.1.quantity'],
  },
  {
    name: 'unknown field in an item',
    url: '/v1/orders',
    body: { ...order, items: [{ productId: PRODUCT_ID, quantity: 1, price: '1.00' }] },
    paths: ['items.0.price'],
  },
  { name: 'bad productId in an item', url: '/v1/orders', body: { ...order, items: [{ productId: '123', quantity: 1 }] }, paths: ['items.0.productId'] },
  { name: 'items as an object', url: '/v1/orders', body: { ...order, items: { productId: PRODUCT_ID, quantity: 1 } }, paths: ['items'] },
  {
    name: 'several errors at once',
    url: '/v1/orders',
    body: { userId: 'nope', items: [{ productId: PRODUCT_ID, quantity: 0 }], coupon: 'FREE' },
    paths: ['userId', 'items.0.quantity', 'coupon'],
  },
  // order transitions
  { name: 'unknown field on confirm', url: CONFIRM, body: { note: 'asap' }, paths: ['note'] },
  { name: 'JSON null on confirm', url: CONFIRM, body: null, paths: [''] },
  { name: 'JSON null on ship', url: `/v1/orders/${ORDER_ID}/ship`, body: null, paths: [''] },
  { name: 'JSON null on deliver', url: `/v1/orders/${ORDER_ID}/deliver`, body: null, paths: [''] },
  { name: 'array on confirm', url: CONFIRM, body: [], paths: [''] },
  { name: 'missing reason', url: CANCEL, body: {}, paths: ['reason'] },
  { name: '10k-char reason', url: CANCEL, body: { reason: long }, paths: ['reason'] },
  { name: 'reason as a number', url: CANCEL, body: { reason: 7 }, paths: ['reason'] },
];

describe('bad bodies', () => {
  test('the table is large enough', () => {
    expect(badBodies.length).toBeGreaterThanOrEqual(25);
  });

  test.each(badBodies)('$name → 400 listing $paths', async ({ url, body, paths }) => {
    const response = await postRaw(api, url, JSON.stringify(body));

    expect(response.statusCode).toBe(400);
    const problem = expectProblem(response);
    expect(problem).toMatchObject({ status: 400, type: 'urn:conveyor:problem:validation-error', instance: url });
    const listed = (problem.errors ?? []).map((error) => error.path);
    for (const path of paths) expect(listed).toContain(path);
    for (const error of problem.errors ?? []) {
      expect(error.in).toBe('body');
      expect(error.message.length).toBeGreaterThan(0);
    }
    expect(await allJobs(api.commands)).toHaveLength(0);
  });
});

describe('bad ids in paths', () => {
  const badIds = ['not-a-uuid', '123', '01930000-0000-7000-8000-00000000aaa', '01930000000070008000000000000aaaa'];
  const routes = [
    (id: string) => ({ url: `/v1/products/${id}/restock`, body: { quantity: 1 }, param: 'productId' }),
    (id: string) => ({ url: `/v1/orders/${id}/confirm`, body: {}, param: 'orderId' }),
    (id: string) => ({ url: `/v1/orders/${id}/ship`, body: {}, param: 'orderId' }),
    (id: string) => ({ url: `/v1/orders/${id}/deliver`, body: {}, param: 'orderId' }),
    (id: string) => ({ url: `/v1/orders/${id}/cancel`, body: { reason: 'x' }, param: 'orderId' }),
  ];

  test.each(badIds)('%s → 400 on every command route with a path id', async (id) => {
    for (const route of routes.map((make) => make(id))) {
      const response = await api.app.inject({ method: 'POST', url: route.url, headers: auth, payload: route.body });
      expect(response.statusCode, route.url).toBe(400);
      expect(expectProblem(response).errors).toEqual([{ in: 'params', path: route.param, message: expect.any(String) }]);
    }
    expect(await allJobs(api.commands)).toHaveLength(0);
  });
});

describe('malformed requests', () => {
  test('a body over 256 KiB → 413', async () => {
    const payload = JSON.stringify({ email: 'ada@example.com', name: 'x'.repeat(257 * 1024) });
    expect(Buffer.byteLength(payload)).toBeGreaterThan(257 * 1024);
    const response = await postRaw(api, '/v1/users', payload);
    expect(response.statusCode).toBe(413);
    expect(expectProblem(response)).toMatchObject({ status: 413, title: 'Payload Too Large' });
    expect(await allJobs(api.commands)).toHaveLength(0);
  });

  test('a body just under the limit is validated, not refused', async () => {
    const payload = JSON.stringify({ email: 'ada@example.com', name: 'x'.repeat(255 * 1024) });
    const response = await postRaw(api, '/v1/users', payload);
    expect(response.statusCode).toBe(400);
    expect(expectProblem(response).errors?.map((error) => error.path)).toEqual(['name']);
  });

  test('truncated JSON → 400', async () => {
    const response = await postRaw(api, '/v1/users', '{"email": "ada@example.com", "name": "Ad');
    expect(response.statusCode).toBe(400);
    expect(expectProblem(response)).toMatchObject({ status: 400, detail: expect.stringMatching(/not valid JSON/) });
    expect(await allJobs(api.commands)).toHaveLength(0);
  });

  test('a __proto__ key → 400', async () => {
    const response = await postRaw(api, '/v1/users', '{"email": "ada@example.com", "name": "Ada", "__proto__": {"admin": true}}');
    expect(response.statusCode).toBe(400);
    expectProblem(response);
  });

  test('an empty JSON body where fields are required → 400', async () => {
    const response = await postRaw(api, '/v1/users', '');
    expect(response.statusCode).toBe(400);
    expect(expectProblem(response).errors).toEqual([{ in: 'body', path: '', message: expect.any(String) }]);
  });

  test.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
    'content type %s → 415',
    async (contentType) => {
      const response = await postRaw(api, '/v1/users', JSON.stringify(user), contentType);
      expect(response.statusCode).toBe(415);
      expect(expectProblem(response).status).toBe(415);
      expect(await allJobs(api.commands)).toHaveLength(0);
    },
  );

  test('a malformed URL → 400 problem', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/v1/orders/%E0%A4%A', headers: auth });
    expect(response.statusCode).toBe(400);
    expect(expectProblem(response).status).toBe(400);
  });

  test('unknown routes → 404 problem', async () => {
    for (const [method, url] of [
      ['GET', '/v2/orders'],
      ['GET', '/nope'],
      ['DELETE', '/v1/users'],
      ['POST', `/v1/orders/${ORDER_ID}/refund`],
    ] as const) {
      const response = await api.app.inject({ method, url, headers: auth });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(expectProblem(response)).toMatchObject({ status: 404, title: 'Not Found' });
    }
  });
});
