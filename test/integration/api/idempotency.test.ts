import { beforeEach, describe, expect, test } from 'vitest';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import { BullMqCommandSender } from '../../../src/infrastructure/queue/bullmq-command-sender.js';
import { createQueue } from '../../../src/infrastructure/queue/queues.js';
import { API_KEY, OTHER_API_KEY, allJobs, apiForFile, auth, expectProblem, startApi } from '../../support/in-process-api.js';

const api = apiForFile({ emptyCommandsBeforeEach: true });

beforeEach(async () => {
  const keys = await api.connection.keys(`${api.prefix}:idem:*`);
  if (keys.length > 0) await api.connection.del(...keys);
});

const ORDER_ID = '01930000-0000-7000-8000-00000000aaaa';
const PRODUCT_ID = '01930000-0000-7000-8000-00000000bbbb';
const USER_ID = '01930000-0000-7000-8000-00000000cccc';
const order = { userId: USER_ID, items: [{ productId: PRODUCT_ID, quantity: 2 }] };

function post(url: string, payload: unknown, key: string | undefined, apiKey = API_KEY) {
  return api.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${apiKey}`, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: payload as Record<string, unknown>,
  });
}

describe('Idempotency-Key', () => {
  test('the same key and body return the first answer and queue one job', async () => {
    const first = await post('/v1/orders', order, 'order-1');
    const second = await post('/v1/orders', order, 'order-1');

    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const jobs = await allJobs(api.commands);
    expect(jobs.map((job) => job.id)).toEqual([first.json().commandId]);
  });

  test('key order in the body does not matter', async () => {
    const first = await post('/v1/orders', order, 'order-2');
    const second = await post('/v1/orders', { items: [{ quantity: 2, productId: PRODUCT_ID }], userId: USER_ID }, 'order-2');
    expect(second.statusCode).toBe(202);
    expect(second.json().commandId).toBe(first.json().commandId);
    expect(await allJobs(api.commands)).toHaveLength(1);
  });

  test('the same key with another body → 422 and no second job', async () => {
    const first = await post('/v1/orders', order, 'order-3');
    const second = await post('/v1/orders', { ...order, items: [{ productId: PRODUCT_ID, quantity: 3 }] }, 'order-3');

    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(422);
    expect(expectProblem(second)).toMatchObject({ status: 422, type: 'urn:conveyor:problem:idempotency-key-reused' });
    expect(await allJobs(api.commands)).toHaveLength(1);
  });

  test('the same key on another order of the same route → 422', async () => {
    await post(`/v1/orders/${ORDER_ID}/confirm`, {}, 'confirm-1');
    const other = await post('/v1/orders/01930000-0000-7000-8000-00000000dddd/confirm', {}, 'confirm-1');
    expect(other.statusCode).toBe(422);
    expect(await allJobs(api.commands)).toHaveLength(1);
  });

  test('keys are scoped by route and by API key', async () => {
    const asOrder = await post(`/v1/orders/${ORDER_ID}/ship`, {}, 'shared-key');
    const asOtherRoute = await post(`/v1/orders/${ORDER_ID}/deliver`, {}, 'shared-key');
    const asOtherCaller = await post(`/v1/orders/${ORDER_ID}/ship`, {}, 'shared-key', OTHER_API_KEY);

    for (const response of [asOrder, asOtherRoute, asOtherCaller]) expect(response.statusCode).toBe(202);
    const ids = new Set([asOrder, asOtherRoute, asOtherCaller].map((response) => response.json().commandId));
    expect(ids.size).toBe(3);
    expect(await allJobs(api.commands)).toHaveLength(3);
  });

  test('concurrent requests with the same key create one job and get one answer', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, () => post('/v1/orders', order, 'race-1')));

    for (const response of responses) expect(response.statusCode).toBe(202);
    const commandIds = new Set(responses.map((response) => response.json().commandId));
    const orderIds = new Set(responses.map((response) => response.json().orderId));
    expect(commandIds.size).toBe(1);
    expect(orderIds.size).toBe(1);
    const jobs = await allJobs(api.commands);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.id).toBe([...commandIds][0]);
  });

  test('a request without a key is never deduplicated', async () => {
    await post('/v1/orders', order, undefined);
    await post('/v1/orders', order, undefined);
    expect(await allJobs(api.commands)).toHaveLength(2);
  });

  test('records live 24 h and hold neither the API key nor the Idempotency-Key', async () => {
    await post('/v1/orders', order, 'visible-key-123');
    const keys = await api.connection.keys(`${api.prefix}:idem:*`);
    expect(keys).toHaveLength(1);
    const ttl = await api.connection.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
    const stored = `${keys[0]} ${await api.connection.get(keys[0]!)}`;
    expect(stored).not.toContain(API_KEY);
    expect(stored).not.toContain('visible-key-123');
  });

  test.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'two words'],
    ['a non-ASCII character', 'clé'],
  ])('a key with %s → 400 and no job', async (_name, key) => {
    const response = await post('/v1/orders', order, key);
    expect(response.statusCode).toBe(400);
    expect(expectProblem(response).errors).toEqual([
      { in: 'headers', path: 'idempotency-key', message: expect.any(String) },
    ]);
    expect(await allJobs(api.commands)).toHaveLength(0);
  });

  test('a key of 255 visible ASCII characters is accepted', async () => {
    const response = await post('/v1/orders', order, `${'!~'.repeat(127)}a`);
    expect(response.statusCode).toBe(202);
  });

  test('a validation error does not use up the key', async () => {
    const bad = await post('/v1/orders', { ...order, userId: 'nope' }, 'fix-and-retry');
    const good = await post('/v1/orders', order, 'fix-and-retry');
    expect(bad.statusCode).toBe(400);
    expect(good.statusCode).toBe(202);
  });
});

describe('when the queue is unavailable', () => {
  test('503 with Retry-After; a retry with the key sends the SAME command, which may already be queued', async () => {
    // The idempotency store works; the queue's Redis does not answer.
    const deadConnection = createRedisConnection({ url: 'redis://127.0.0.1:1', role: 'producer' });
    deadConnection.on('error', () => undefined);
    const deadQueue = createQueue('commands', { connection: deadConnection, prefix: api.prefix });
    deadQueue.on('error', () => undefined);
    const broken = await startApi(
      { commands: new BullMqCommandSender(deadQueue, { readyTimeoutMs: 200 }), idempotency: api.store },
      api.prefix,
    );
    try {
      const refused = await broken.app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: { ...auth, 'idempotency-key': 'retry-me' },
        payload: order,
      });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(expectProblem(refused)).toMatchObject({ status: 503, type: 'urn:conveyor:problem:queue-unavailable' });
      // The reservation stays: a lost connection may have queued the job after all.
      expect(await api.connection.keys(`${api.prefix}:idem:*`)).toHaveLength(1);

      const retried = await post('/v1/orders', order, 'retry-me');
      const again = await post('/v1/orders', order, 'retry-me');
      expect(retried.statusCode).toBe(202);
      expect(again.json()).toEqual(retried.json());
      const jobs = await allJobs(api.commands);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]?.id).toBe(retried.json<{ commandId: string }>().commandId);
    } finally {
      await broken.app.close();
      await deadQueue.close();
      deadConnection.disconnect();
    }
  });

  test('503 when Redis is down altogether, with or without a key', async () => {
    const deadConnection = createRedisConnection({ url: 'redis://127.0.0.1:1', role: 'producer' });
    deadConnection.on('error', () => undefined);
    const deadQueue = createQueue('commands', { connection: deadConnection, prefix: api.prefix });
    deadQueue.on('error', () => undefined);
    const { RedisIdempotencyStore } = await import('../../../src/infrastructure/idempotency/redis-idempotency-store.js');
    const broken = await startApi(
      {
        commands: new BullMqCommandSender(deadQueue, { readyTimeoutMs: 200 }),
        idempotency: new RedisIdempotencyStore(deadConnection, { prefix: api.prefix }),
      },
      api.prefix,
    );
    try {
      for (const headers of [auth, { ...auth, 'idempotency-key': 'k' }]) {
        const started = Date.now();
        const response = await broken.app.inject({ method: 'POST', url: '/v1/orders', headers, payload: order });
        expect(response.statusCode).toBe(503);
        expect(response.headers['retry-after']).toBe('5');
        expectProblem(response);
        expect(Date.now() - started).toBeLessThan(5000);
      }
    } finally {
      await broken.app.close();
      await deadQueue.close();
      deadConnection.disconnect();
    }
  });
});
