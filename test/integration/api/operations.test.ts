import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN, API_KEY, OTHER_API_KEY, type TestApi, expectProblem, startApi } from '../../support/in-process-api.js';

let api: TestApi;
let unready: TestApi;
const calls: string[] = [];

beforeAll(async () => {
  api = await startApi({
    readiness: {
      postgres: async () => void calls.push('postgres'),
      redis: async () => void calls.push('redis'),
    },
  });
  unready = await startApi({
    readiness: {
      postgres: async () => {
        throw new Error('connection refused to 10.0.0.7:5432');
      },
      redis: async () => undefined,
      slow: () => new Promise<void>(() => undefined),
    },
  });
});

afterAll(async () => {
  await api.close();
  await unready.close();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('health', () => {
  test('live needs no key', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  test('ready runs every check', async () => {
    calls.length = 0;
    const response = await api.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
    expect(calls.sort()).toEqual(['postgres', 'redis']);
  });

  test('ready → 503 naming the checks that threw or hung, without their messages', async () => {
    const response = await unready.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(503);
    const problem = expectProblem(response);
    expect(problem).toMatchObject({ status: 503, checks: { postgres: 'failed', redis: 'ok', slow: 'failed' } });
    expect(problem.detail).toContain('postgres');
    expect(response.body).not.toContain('10.0.0.7');
  });
});

describe('bearer auth on /v1', () => {
  const url = '/v1/orders/01930000-0000-7000-8000-00000000aaaa';

  test('no Authorization header → 401 with a Bearer challenge', async () => {
    const response = await api.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(expectProblem(response).status).toBe(401);
  });

  test.each([
    ['a wrong key', 'Bearer nope'],
    ['a key with a prefix of a right one', `Bearer ${API_KEY.slice(0, -1)}`],
    ['another scheme', `Basic ${Buffer.from(`x:${API_KEY}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('%s → 401', async (_name, authorization) => {
    const response = await api.app.inject({ method: 'GET', url, headers: { authorization } });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    expectProblem(response);
  });

  test('a command without a key queues nothing', async () => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email: 'ada@example.com', name: 'Ada' },
    });
    expect(response.statusCode).toBe(401);
    expect(await api.commands.count()).toBe(0);
  });

  test.each([API_KEY, OTHER_API_KEY])('key %s is accepted', async (key) => {
    const response = await api.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    expect(response.statusCode).toBe(404);
  });
});

describe('Bull Board', () => {
  test('401 with a Basic challenge without credentials', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/admin/queues' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Basic /);
  });

  test.each([
    ['a wrong password', basic(ADMIN.user, 'wrong')],
    ['a wrong user', basic('root', ADMIN.password)],
    ['no colon', `Basic ${Buffer.from(ADMIN.user).toString('base64')}`],
    ['an API key', `Bearer ${API_KEY}`],
  ])('401 with %s', async (_name, authorization) => {
    const response = await api.app.inject({ method: 'GET', url: '/admin/queues', headers: { authorization } });
    expect(response.statusCode).toBe(401);
  });

  test('its API is guarded too', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/admin/queues/api/queues' });
    expect(response.statusCode).toBe(401);
  });

  test('200 with the admin login, showing every queue', async () => {
    const headers = { authorization: basic(ADMIN.user, ADMIN.password) };
    const page = await api.app.inject({ method: 'GET', url: '/admin/queues', headers });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);

    const queues = await api.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers });
    expect(queues.statusCode).toBe(200);
    const names = (queues.json().queues as { name: string }[]).map((queue) => queue.name).sort();
    expect(names).toEqual(['commands', 'emails', 'maintenance', 'webhooks']);
  });
});

describe('OpenAPI', () => {
  test('/docs/json is public and documents every route from the zod schemas', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        '/health/live',
        '/health/ready',
        '/v1/commands',
        '/v1/commands/retry',
        '/v1/commands/{commandId}',
        '/v1/commands/{commandId}/events',
        '/v1/emails',
        '/v1/emails/{id}/resend',
        '/v1/orders',
        '/v1/orders/{orderId}',
        '/v1/orders/{orderId}/cancel',
        '/v1/orders/{orderId}/confirm',
        '/v1/orders/{orderId}/deliver',
        '/v1/orders/{orderId}/ship',
        '/v1/products',
        '/v1/products/{productId}',
        '/v1/products/{productId}/restock',
        '/v1/schedules',
        '/v1/schedules/{id}',
        '/v1/schedules/{id}/runs',
        '/v1/users',
        '/v1/users/{userId}/order-summary',
        '/v1/users/{userId}/orders',
        '/v1/webhook-deliveries/{deliveryId}/replay',
        '/v1/webhook-endpoints',
        '/v1/webhook-endpoints/{id}',
        '/v1/webhook-endpoints/{id}/deliveries',
        '/v1/webhook-endpoints/{id}/replay',
        '/v1/webhook-endpoints/{id}/rotate-secret',
        '/v1/webhook-endpoints/{id}/test',
      ].sort(),
    );
    expect(document.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    const placeOrder = document.paths['/v1/orders'].post;
    expect(placeOrder.security).toEqual([{ bearerAuth: [] }]);
    const bodySchema = placeOrder.requestBody.content['application/json'].schema;
    expect(bodySchema.required).toEqual(expect.arrayContaining(['userId', 'items']));
    expect(bodySchema.additionalProperties).toBe(false);
    expect(bodySchema.properties.items.maxItems).toBe(100);
    expect(placeOrder.responses['202']).toBeDefined();
    expect(placeOrder.responses['400'].content['application/problem+json']).toBeDefined();
    expect(placeOrder.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'header', name: 'idempotency-key' }),
        expect.objectContaining({ in: 'header', name: 'run-at' }),
      ]),
    );
    // Following and cancelling a command.
    const command = document.paths['/v1/commands/{commandId}'];
    expect(Object.keys(command).sort()).toEqual(['delete', 'get']);
    expect(command.get.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'query', name: 'wait' })]));
    expect(command.get.responses['200'].content['application/json'].schema.properties.status.enum).toEqual([
      'queued',
      'scheduled',
      'running',
      'succeeded',
      'failed',
      'cancelled',
      'gave_up',
    ]);
    expect(Object.keys(command.delete.responses)).toEqual(expect.arrayContaining(['200', '404', '409']));
    const events = document.paths['/v1/commands/{commandId}/events'].get;
    expect(Object.keys(events.responses['200'].content)).toEqual(['text/event-stream']);
    expect(events.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'last-event-id' })]));
  });

  test('/docs serves Swagger UI', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(response.statusCode);
    const page = response.statusCode === 302
      ? await api.app.inject({ method: 'GET', url: String(response.headers.location) })
      : response;
    expect(page.body).toMatch(/swagger/i);
  });
});
