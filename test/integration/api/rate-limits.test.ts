// Per-key request limits (docs/adr/0012-rate-limits-and-load-shedding.md): counted in Redis
// under QUEUE_PREFIX, so two web processes share one limit; each key has its own.
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { SCOPES, type Principal } from '../../../src/application/access/principal.js';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import { API_KEY, OTHER_API_KEY, type TestApi, expectProblem, startApi } from '../../support/in-process-api.js';
import { startRedisCluster } from '../../support/redis-cluster.js';
import { scanKeys, uniquePrefix } from '../../support/redis-keys.js';

const PRODUCT_ID = '01930000-0000-7000-8000-00000000bbbb';

const started: TestApi[] = [];
afterEach(async () => {
  for (const api of started.splice(0)) await api.close();
});

async function start(...args: Parameters<typeof startApi>): Promise<TestApi> {
  const api = await startApi(...args);
  started.push(api);
  return api;
}

/** A read that costs nothing but the request: an unknown product (404). */
function getProduct(api: TestApi, key: string) {
  return api.app.inject({ method: 'GET', url: `/v1/products/${PRODUCT_ID}`, headers: { authorization: `Bearer ${key}` } });
}

function register(api: TestApi, key: string) {
  return api.app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: { authorization: `Bearer ${key}` },
    payload: { email: 'ann@example.com', name: 'Ann' },
  });
}

describe('per-key rate limits', () => {
  test('a burst over the limit gets 429 with Retry-After and the RateLimit fields; another key is unaffected', async () => {
    const api = await start({}, uniquePrefix('rate'), { RATE_LIMIT_PER_MINUTE: '5' });

    const remaining: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = i % 2 === 0 ? await getProduct(api, API_KEY) : await register(api, API_KEY);
      expect(response.statusCode).toBe(i % 2 === 0 ? 404 : 202);
      expect(response.headers['ratelimit-policy']).toBe('"per-key";q=5;w=60');
      remaining.push(String(response.headers.ratelimit));
    }
    expect(remaining.map((field) => /;r=(\d+);/.exec(field)?.[1])).toEqual(['4', '3', '2', '1', '0']);

    const refused = await register(api, API_KEY);
    expect(refused.statusCode).toBe(429);
    const problem = expectProblem(refused);
    expect(problem).toMatchObject({ type: 'urn:conveyor:problem:rate-limited', status: 429, title: 'Too Many Requests', limit: 5 });
    expect(problem.detail).toMatch(/5 requests a minute/);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The reset in RateLimit is the moment Retry-After names (the draft asks for one point in time).
    expect(refused.headers.ratelimit).toBe(`"per-key";r=0;t=${retryAfter}`);
    expect(refused.headers['ratelimit-policy']).toBe('"per-key";q=5;w=60');
    // Refused before the route ran: no sixth command was queued.
    expect(await api.commands.getJobCountByTypes('waiting')).toBe(2);

    const other = await getProduct(api, OTHER_API_KEY);
    expect(other.statusCode).toBe(404);
    expect(other.headers.ratelimit).toMatch(/^"per-key";r=4;t=\d+$/);
    expect((await register(api, OTHER_API_KEY)).statusCode).toBe(202);

    // The counters live under QUEUE_PREFIX (one per key), so cleaning a prefix takes them too.
    const counters = await scanKeys(api.connection, `${api.prefix}:ratelimit:*`);
    expect(counters).toHaveLength(2);
  });

  test('the limit holds across two web processes sharing Redis', async () => {
    const prefix = uniquePrefix('rate-shared');
    const env = { RATE_LIMIT_PER_MINUTE: '4' };
    const first = await start({}, prefix, env);
    const second = await start({}, prefix, env);

    expect((await getProduct(first, API_KEY)).statusCode).toBe(404);
    expect((await getProduct(second, API_KEY)).statusCode).toBe(404);
    expect((await getProduct(first, API_KEY)).statusCode).toBe(404);
    const fourth = await getProduct(second, API_KEY);
    expect(fourth.statusCode).toBe(404);
    expect(fourth.headers.ratelimit).toMatch(/^"per-key";r=0;/);

    // Each process alone has seen two requests; together they used the key's four.
    for (const api of [first, second]) {
      const refused = await getProduct(api, API_KEY);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    }
  });

  test('on a Redis Cluster too: the counter script runs on the slot of the prefix, shared by two processes', async () => {
    const cluster = await startRedisCluster();
    const one = createRedisConnection({ url: cluster.url, role: 'producer' });
    const other = createRedisConnection({ url: cluster.url, role: 'producer' });
    try {
      // A hash-tagged prefix, as QUEUE_PREFIX must be on a cluster (the queues stay on the test Redis here).
      const prefix = `{${uniquePrefix('rate-cluster')}}`;
      const env = { RATE_LIMIT_PER_MINUTE: '2' };
      const first = await start({ rateLimitRedis: one }, prefix, env);
      const second = await start({ rateLimitRedis: other }, prefix, env);
      expect((await getProduct(first, API_KEY)).headers.ratelimit).toMatch(/^"per-key";r=1;/);
      expect((await getProduct(second, API_KEY)).headers.ratelimit).toMatch(/^"per-key";r=0;/);
      expect((await getProduct(first, API_KEY)).statusCode).toBe(429);
      expect(await scanKeys(one, `${prefix}:ratelimit:*`)).toHaveLength(1);
    } finally {
      for (const api of started.splice(0)) await api.close();
      one.disconnect();
      other.disconnect();
      await cluster.stop();
    }
  });

  test("a key's own limit (api_keys.rate_limit_per_minute) overrides the default", async () => {
    const principals: Record<string, Principal> = {
      'key-with-limit': { keyId: 'k1', name: 'shop', scopes: new Set(SCOPES), rateLimitPerMinute: 2 },
      'key-on-default': { keyId: 'k2', name: 'reports', scopes: new Set(SCOPES), rateLimitPerMinute: null },
    };
    // Stands in for the key store: the principal as the bearer hook would set it.
    const authenticate: onRequestAsyncHookHandler = async (request: FastifyRequest) => {
      const key = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
      request.principal = principals[key] ?? null;
      request.callerId = key;
    };
    const api = await start({ authenticate }, uniquePrefix('rate-own'), { RATE_LIMIT_PER_MINUTE: '3' });

    const limited = [];
    for (let i = 0; i < 3; i += 1) limited.push(await getProduct(api, 'key-with-limit'));
    expect(limited.map((response) => response.statusCode)).toEqual([404, 404, 429]);
    expect(limited[0]?.headers['ratelimit-policy']).toBe('"per-key";q=2;w=60');

    const onDefault = [];
    for (let i = 0; i < 4; i += 1) onDefault.push(await getProduct(api, 'key-on-default'));
    expect(onDefault.map((response) => response.statusCode)).toEqual([404, 404, 404, 429]);
    expect(onDefault[0]?.headers['ratelimit-policy']).toBe('"per-key";q=3;w=60');
  });

  test('with its Redis unavailable the limit is not checked: requests are answered, not failed', async () => {
    // A fail-fast connection to a port nothing listens on, as the web's producer connection is while Redis is down.
    const unreachable = createRedisConnection({ url: 'redis://127.0.0.1:9', role: 'producer' });
    unreachable.on('error', () => undefined);
    try {
      const api = await start({ rateLimitRedis: unreachable }, uniquePrefix('rate-down'), { RATE_LIMIT_PER_MINUTE: '1' });
      for (let i = 0; i < 3; i += 1) {
        const response = await getProduct(api, API_KEY);
        expect(response.statusCode).toBe(404);
        expect(response.headers.ratelimit).toBeUndefined();
      }
    } finally {
      unreachable.disconnect();
    }
  });

  test('the OpenAPI document lists the 429 on every /v1 operation', async () => {
    const api = await start();
    const response = await api.app.inject({ method: 'GET', url: '/docs/json' });
    const { paths } = response.json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    const v1 = Object.entries(paths).filter(([path]) => path.startsWith('/v1/'));
    expect(v1.length).toBeGreaterThan(10);
    for (const [path, operations] of v1) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(Object.keys(operation.responses), `${method.toUpperCase()} ${path}`).toContain('429');
      }
    }
  });
});
