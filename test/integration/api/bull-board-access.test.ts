// Bull Board's access rules on the real app and a real Redis (docs/adr/0014-bull-board-read-only.md):
// read-only for everyone, failed logins throttled per client IP across web replicas, static
// files behind the same login. The Chromium test (test/e2e/bull-board.test.ts) shows the same
// from a browser.
import { appRoutes } from '@bull-board/api/dist/routes.js';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RedisLoginThrottle } from '../../../src/infrastructure/access/redis-login-throttle.js';
import { ADMIN, type TestApi, expectProblem, startApi } from '../../support/in-process-api.js';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import { REDIS_URL } from '../../support/config.js';
import { redisClient, uniquePrefix } from '../../support/redis-keys.js';

const MAX_FAILURES = 3;
const WINDOW_S = 2;
const THROTTLE_ENV = { ADMIN_LOGIN_MAX_FAILURES: String(MAX_FAILURES), ADMIN_LOGIN_WINDOW: `${WINDOW_S}s` };

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const GOOD = basic(ADMIN.user, ADMIN.password);
const WRONG = basic(ADMIN.user, 'guess');

let api: TestApi;
let replica: TestApi;

beforeAll(async () => {
  const prefix = uniquePrefix('board');
  api = await startApi({}, prefix, THROTTLE_ENV);
  // A second web process on the same Redis and prefix.
  replica = await startApi({}, prefix, THROTTLE_ENV);
});

afterAll(async () => {
  await replica?.close();
  await api?.close();
});

function board(app: TestApi, url: string, options: { authorization?: string; ip?: string; method?: string; forwardedFor?: string } = {}) {
  return app.app.inject({
    method: (options.method ?? 'GET') as 'GET',
    url: `/admin/queues${url}`,
    remoteAddress: options.ip ?? '192.0.2.1',
    headers: {
      ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
      ...(options.forwardedFor === undefined ? {} : { 'x-forwarded-for': options.forwardedFor }),
    },
  });
}

describe('read-only', () => {
  // Every route of Bull Board's API that is not a read, taken from Bull Board itself, so a
  // write route added by an upgrade is in this list too.
  const writeRoutes = appRoutes.api.flatMap((route) =>
    [route.method].flat().flatMap((method) => [route.route].flat().map((path) => ({ method: method.toUpperCase(), path }))),
  ).filter((route) => route.method !== 'GET');

  test('Bull Board has the write routes this test expects to refuse', () => {
    const routes = writeRoutes.map((route) => `${route.method} ${route.path}`);
    for (const route of [
      'PUT /api/queues/:queueName/:jobId/retry',
      'PUT /api/queues/:queueName/retry/:queueStatus',
      'PUT /api/queues/:queueName/clean/:queueStatus',
      'PUT /api/queues/:queueName/:jobId/clean',
      'PUT /api/queues/:queueName/obliterate',
      'PUT /api/queues/:queueName/empty',
      'PUT /api/queues/:queueName/pause',
      'PUT /api/queues/pause',
      'PUT /api/queues/:queueName/:jobId/promote',
      'PUT /api/queues/:queueName/promote',
      'POST /api/queues/:queueName/add',
      'PATCH /api/queues/:queueName/:jobId/update-data',
    ]) {
      expect(routes).toContain(route);
    }
  });

  test('every write route answers 403 problem+json to the admin, and the jobs and the queue are untouched', async () => {
    // A failed job, made the way a worker makes one (taken, then failed under its lock).
    await api.commands.add('PlaceOrder', { commandId: 'f' }, { jobId: 'board-failed', attempts: 1 });
    const connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
    const worker = new Worker(api.commands.name, null, { connection, prefix: api.prefix });
    const taken = await worker.getNextJob('board-token');
    await taken?.moveToFailed(new Error('boom'), 'board-token', false);
    await worker.close();
    await connection.quit();
    await api.commands.add('ConfirmOrder', { commandId: 'd' }, { jobId: 'board-delayed', delay: 3_600_000 });
    await api.commands.add('ShipOrder', { commandId: 'w' }, { jobId: 'board-waiting' });
    const before = await api.commands.getJobCounts('failed', 'delayed', 'waiting');
    expect(before).toEqual({ failed: 1, delayed: 1, waiting: 1 });

    const params: Record<string, string> = { queueName: 'commands', jobId: 'board-failed', queueStatus: 'failed', schedulerId: 'any' };
    for (const route of writeRoutes) {
      const url = route.path.replace(/:(\w+)/g, (_match: string, name: string) => params[name] ?? name);
      const response = await api.app.inject({
        method: route.method as 'PUT',
        url: `/admin/queues${url}`,
        headers: { authorization: GOOD, 'content-type': 'application/json' },
        payload: { data: { commandId: 'changed' }, name: 'Injected', delay: 0 },
      });
      expect(response.statusCode, `${route.method} ${url}`).toBe(403);
      expect(expectProblem(response)).toMatchObject({ status: 403, detail: expect.stringMatching(/read-only.*POST \/v1\/commands\/retry/) });
      // Without the login nothing tells an anonymous caller what the board would do.
      const anonymous = await api.app.inject({ method: route.method as 'PUT', url: `/admin/queues${url}` });
      expect(anonymous.statusCode, `${route.method} ${url} without login`).toBe(401);
    }

    expect(await api.commands.getJobCounts('failed', 'delayed', 'waiting')).toEqual(before);
    expect(await api.commands.isPaused()).toBe(false);
    const job = await api.commands.getJob('board-failed');
    expect(job?.data).toEqual({ commandId: 'f' });
    expect(await job?.getState()).toBe('failed');
    expect(await (await api.commands.getJob('board-delayed'))?.getState()).toBe('delayed');
  });

  test('Bull Board itself sees every queue as read-only, so its UI offers no write action', async () => {
    const response = await board(api, '/api/queues', { authorization: GOOD });
    expect(response.statusCode).toBe(200);
    const queues = response.json().queues as { name: string; readOnlyMode: boolean; allowRetries: boolean }[];
    expect(queues.map((queue) => [queue.name, queue.readOnlyMode, queue.allowRetries]).sort()).toEqual([
      ['commands', true, false],
      ['emails', true, false],
      ['maintenance', true, false],
      ['webhooks', true, false],
    ]);
  });
});

describe('static files', () => {
  test('the scripts and styles the page loads need the login too', async () => {
    const page = await board(api, '', { authorization: GOOD, ip: '192.0.2.50' });
    expect(page.statusCode).toBe(200);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]*static\/[^"]+)"/g)].map((match) => new URL(match[1]!, 'http://x/admin/queues/').pathname);
    expect(assets.some((path) => path.endsWith('.js'))).toBe(true);
    for (const path of assets) {
      const anonymous = await api.app.inject({ method: 'GET', url: path, remoteAddress: '192.0.2.50' });
      expect(anonymous.statusCode, path).toBe(401);
      expect(anonymous.headers['www-authenticate']).toMatch(/^Basic /);
      const viewer = await api.app.inject({ method: 'GET', url: path, remoteAddress: '192.0.2.50', headers: { authorization: GOOD } });
      expect(viewer.statusCode, path).toBe(200);
    }
  });
});

describe('failed logins', () => {
  test(`after ${MAX_FAILURES} wrong passwords a client gets 429 with Retry-After, right password included, on every replica, until the window ends`, async () => {
    const guesser = '198.51.100.7';
    const operator = '198.51.100.8';
    for (let attempt = 1; attempt <= MAX_FAILURES; attempt++) {
      expect((await board(api, '', { authorization: WRONG, ip: guesser })).statusCode, `attempt ${attempt}`).toBe(401);
    }
    const refused = await board(api, '', { authorization: WRONG, ip: guesser });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(WINDOW_S);
    expect(expectProblem(refused)).toMatchObject({ status: 429, detail: expect.stringContaining('Too many failed logins') });

    // The right password does not get through either: guessing on tells nothing.
    expect((await board(api, '', { authorization: GOOD, ip: guesser })).statusCode).toBe(429);
    expect((await board(api, '/api/queues', { authorization: GOOD, ip: guesser })).statusCode).toBe(429);
    // Another web process knows it (the count is in Redis).
    const elsewhere = await board(replica, '', { authorization: GOOD, ip: guesser });
    expect(elsewhere.statusCode).toBe(429);
    expect(elsewhere.headers['retry-after']).toBeDefined();

    // Another client is not affected, and its success resets nobody's count.
    expect((await board(replica, '', { authorization: GOOD, ip: operator })).statusCode).toBe(200);
    expect((await board(api, '', { authorization: WRONG, ip: operator })).statusCode).toBe(401);
    expect((await board(api, '', { authorization: GOOD, ip: operator })).statusCode).toBe(200);
    expect((await board(api, '', { authorization: GOOD, ip: guesser })).statusCode).toBe(429);

    // The window began with the first failure; once it has passed, the right login works again.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000 + 200));
    expect((await board(replica, '', { authorization: GOOD, ip: guesser })).statusCode).toBe(200);
    expect((await board(api, '', { authorization: WRONG, ip: guesser })).statusCode).toBe(401);
  });

  test('behind a proxy named in TRUST_PROXY, each client counts by the address the proxy forwards, and no one else can name one', async () => {
    const proxy = '192.0.2.50';
    const [guesser, operator] = ['198.51.100.40', '198.51.100.41'];
    const fresh = () => uniquePrefix('board');
    const behindProxy = await startApi({}, fresh(), { ...THROTTLE_ENV, TRUST_PROXY: `${proxy}, 10.0.0.0/8` });
    const unaware = await startApi({}, fresh(), THROTTLE_ENV);
    const oneHop = await startApi({}, fresh(), { ...THROTTLE_ENV, TRUST_PROXY: '1' });
    try {
      for (const app of [behindProxy, unaware]) {
        for (let attempt = 1; attempt <= MAX_FAILURES; attempt++) {
          await board(app, '', { authorization: WRONG, ip: proxy, forwardedFor: guesser });
        }
        expect((await board(app, '', { authorization: GOOD, ip: proxy, forwardedFor: guesser })).statusCode).toBe(429);
      }
      // Trusting the proxy, the operator behind it is a client of its own…
      expect((await board(behindProxy, '', { authorization: GOOD, ip: proxy, forwardedFor: operator })).statusCode).toBe(200);
      // … not trusting it, every client behind it is the proxy, and one guesser locks all out.
      expect((await board(unaware, '', { authorization: GOOD, ip: proxy, forwardedFor: operator })).statusCode).toBe(429);
      // A client that reaches the process directly cannot pass for another: its header is ignored.
      expect((await board(behindProxy, '', { authorization: GOOD, ip: '203.0.113.9', forwardedFor: operator })).statusCode).toBe(200);
      for (let attempt = 1; attempt <= MAX_FAILURES; attempt++) {
        await board(behindProxy, '', { authorization: WRONG, ip: '203.0.113.9', forwardedFor: '198.51.100.99' });
      }
      expect((await board(behindProxy, '', { authorization: GOOD, ip: '203.0.113.9', forwardedFor: '198.51.100.98' })).statusCode).toBe(429);

      // One hop: the client is the address the proxy appended, whatever the client wrote before it.
      for (let attempt = 1; attempt <= MAX_FAILURES; attempt++) {
        await board(oneHop, '', { authorization: WRONG, ip: proxy, forwardedFor: `203.0.113.${attempt}, ${guesser}` });
      }
      expect((await board(oneHop, '', { authorization: GOOD, ip: proxy, forwardedFor: `${operator}, ${guesser}` })).statusCode).toBe(429);
      expect((await board(oneHop, '', { authorization: GOOD, ip: proxy, forwardedFor: `${guesser}, ${operator}` })).statusCode).toBe(200);
    } finally {
      await behindProxy.close();
      await unaware.close();
      await oneHop.close();
    }
  });

  test('parallel guesses cannot get past the limit', async () => {
    const ip = '198.51.100.20';
    const answers = await Promise.all(Array.from({ length: 20 }, () => board(api, '', { authorization: WRONG, ip })));
    const statuses = answers.map((answer) => answer.statusCode).sort();
    expect(statuses.filter((status) => status === 401)).toHaveLength(MAX_FAILURES);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20 - MAX_FAILURES);
  });

  test('requests without credentials are challenged but not counted (a browser sends one before each login)', async () => {
    const ip = '198.51.100.30';
    for (let attempt = 0; attempt < MAX_FAILURES + 2; attempt++) {
      const challenged = await board(api, '', { ip });
      expect(challenged.statusCode).toBe(401);
      expect(challenged.headers['www-authenticate']).toMatch(/^Basic /);
    }
    expect((await board(api, '', { authorization: GOOD, ip })).statusCode).toBe(200);
  });

  test('when the count cannot be read, the board refuses with 503 rather than let guesses through', async () => {
    const connection = redisClient();
    await connection.quit();
    const broken = await startApi(({ config }) => ({
      adminLogins: new RedisLoginThrottle(connection, { prefix: config.queuePrefix, ...config.adminLoginThrottle }),
    }));
    try {
      for (const authorization of [GOOD, WRONG]) {
        const response = await broken.app.inject({ method: 'GET', url: '/admin/queues', headers: { authorization } });
        expect(response.statusCode).toBe(503);
        expect(response.headers['retry-after']).toBe('5');
        expectProblem(response);
      }
    } finally {
      await broken.close();
    }
  });
});
