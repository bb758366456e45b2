import type { LookupAddress } from 'node:dns';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { QUEUES } from '../../../queues/index.js';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import { WEBHOOK_EVENT_TYPES } from '../../../src/application/webhooks/event-types.js';
import { createInfrastructure } from '../../../src/main/infrastructure.js';
import { buildWeb } from '../../../src/main/roles/web.js';
import { createWebhookManagement } from '../../../src/main/roles/webhooks.js';
import { WEBHOOK_JOB_NAME } from '../../../queues/webhooks.js';
import { attemptLeaseMs } from '../../../src/application/webhooks/replay-webhook-delivery.js';
import { PostgresWebhookRepository } from '../../../src/infrastructure/webhooks/postgres-webhook-repository.js';
import { SsrfUrlGuard } from '../../../src/infrastructure/webhooks/ssrf.js';
import { REDIS_URL, testConfig, testSecretCipher } from '../../support/config.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../../support/orm.js';
import { type ApiContext, type TestApi, UUID_V7, allJobs, auth, expectProblem, postRaw, startApi } from '../../support/in-process-api.js';
import { newEndpointView } from '../../support/webhook-endpoints.js';

// The webhook routes on the real use cases (createWebhookManagement) over a fresh PostgreSQL
// database and real BullMQ queues in Redis under a unique prefix.

let db: OrmFixture;
/** WEBHOOK_ALLOW_PRIVATE=false with the system resolver, as in production. */
let api: TestApi;
/** WEBHOOK_ALLOW_PRIVATE=true. */
let permissive: TestApi;
/** WEBHOOK_ALLOW_PRIVATE=false with a resolver that answers FAKE_DNS, for host names. */
let fakeDns: TestApi;

const FAKE_DNS: Record<string, string[]> = {
  'hooks.example.test': ['93.184.216.34'],
  'intranet.example.test': ['10.1.2.3'],
  'metadata.example.test': ['169.254.169.254'],
  // One bad address is enough: the connection may pick any of them.
  'mixed.example.test': ['93.184.216.34', '127.0.0.1'],
  'v6-loopback.example.test': ['::1'],
};

async function fakeLookup(hostname: string): Promise<LookupAddress[]> {
  const addresses = FAKE_DNS[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

/** A public address: accepted without DNS when private targets are refused. Nothing is sent to it here. */
const PUBLIC_URL = 'https://93.184.216.34/hooks/conveyor';

beforeAll(async () => {
  db = await ormOnFreshDatabase();
  const env = (allowPrivate: boolean) => ({ DATABASE_URL: db.url, WEBHOOK_ALLOW_PRIVATE: String(allowPrivate) });
  const real = ({ config, queues }: ApiContext) => ({ webhooks: createWebhookManagement({ config, pool: db.pool, queues }) });
  api = await startApi(real, undefined, env(false));
  permissive = await startApi(real, undefined, env(true));
  fakeDns = await startApi(
    ({ config, queues }) => ({
      webhooks: createWebhookManagement(
        { config, pool: db.pool, queues },
        { urlGuard: new SsrfUrlGuard({ allowPrivate: false, lookup: fakeLookup }) },
      ),
    }),
    undefined,
    env(false),
  );
});

afterAll(async () => {
  await api.close();
  await permissive.close();
  await fakeDns.close();
  await db.close();
});

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  db.orm.em.fork().getConnection().execute<T[]>(query, params);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function send(target: TestApi, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return target.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload }) });
}

const subscribe = (body: object, target: TestApi = api) => send(target, 'POST', '/v1/webhook-endpoints', body);

async function createEndpoint(eventTypes: string[] = ['order.placed'], url = PUBLIC_URL): Promise<string> {
  const response = await subscribe({ url, eventTypes });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string }>().id;
}

async function endpointCount(): Promise<number> {
  const [row] = await sql<{ count: string }>('select count(*) as count from webhook_endpoints');
  return Number(row?.count);
}

describe('POST /v1/webhook-endpoints', () => {
  test('201 with the signing secret, once; the stored secret is it, encrypted', async () => {
    const response = await subscribe({ url: PUBLIC_URL, eventTypes: ['order.placed', 'order.shipped'] });

    expect(response.statusCode).toBe(201);
    const body = response.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(['createdAt', 'deliveryRate', 'eventTypes', 'id', 'secret', 'url']);
    expect(body.deliveryRate).toBeNull();
    expect(body).toMatchObject({ url: PUBLIC_URL, eventTypes: ['order.placed', 'order.shipped'] });
    expect(body.id).toMatch(UUID_V7);
    expect(body.createdAt).toMatch(ISO);
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(String(body.secret).slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    expect(response.headers.location).toBe(`/v1/webhook-endpoints/${String(body.id)}`);
    const [row] = await sql<{ secret: string }>('select secret from webhook_endpoints where id = ?', [body.id]);
    expect(row?.secret).not.toContain(String(body.secret).slice('whsec_'.length));
    expect(testSecretCipher().open(String(row?.secret), { endpointId: String(body.id), column: 'secret' })).toBe(body.secret);

    // Neither the endpoint nor the list shows the secret again.
    const one = await send(api, 'GET', String(response.headers.location));
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(
      newEndpointView({ id: body.id, url: PUBLIC_URL, eventTypes: ['order.placed', 'order.shipped'], createdAt: body.createdAt }),
    );
    const list = await send(api, 'GET', '/v1/webhook-endpoints');
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: { id: string }[] }>().items.map((item) => item.id)).toContain(body.id);
    for (const answer of [one, list]) {
      expect(answer.body).not.toContain(String(body.secret));
      expect(answer.body).not.toContain('secret');
    }
  });

  test('each endpoint gets its own secret', async () => {
    const first = await subscribe({ url: PUBLIC_URL, eventTypes: ['*'] });
    const second = await subscribe({ url: PUBLIC_URL, eventTypes: ['*'] });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(first.json<{ secret: string }>().secret).not.toBe(second.json<{ secret: string }>().secret);
  });

  test('"*" subscribes to every event type; duplicates are dropped; the URL is normalised', async () => {
    const all = await subscribe({ url: PUBLIC_URL, eventTypes: ['*'] });
    expect(all.statusCode).toBe(201);
    expect(all.json()).toMatchObject({ eventTypes: ['*'] });

    const every = await subscribe({ url: PUBLIC_URL, eventTypes: [...WEBHOOK_EVENT_TYPES] });
    expect(every.statusCode).toBe(201);
    expect(every.json()).toMatchObject({ eventTypes: [...WEBHOOK_EVENT_TYPES] });

    const duplicated = await subscribe({
      url: 'HTTPS://93.184.216.34:443/hooks/../conveyor?x=1',
      eventTypes: ['order.placed', 'order.placed'],
    });
    expect(duplicated.statusCode).toBe(201);
    expect(duplicated.json()).toMatchObject({ url: 'https://93.184.216.34/conveyor?x=1', eventTypes: ['order.placed'] });
  });

  test('needs the API key', async () => {
    const before = await endpointCount();
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      payload: { url: PUBLIC_URL, eventTypes: ['*'] },
    });
    expect(response.statusCode).toBe(401);
    expectProblem(response);
    expect(await endpointCount()).toBe(before);
  });

  const invalid: { name: string; body: object; path: string; code?: string }[] = [
    { name: 'an unknown field', body: { url: PUBLIC_URL, eventTypes: ['*'], secret: 'whsec_mine' }, path: 'secret' },
    { name: 'no url', body: { eventTypes: ['*'] }, path: 'url' },
    { name: 'a url that is not a string', body: { url: 42, eventTypes: ['*'] }, path: 'url' },
    { name: 'a relative url', body: { url: '/hooks', eventTypes: ['*'] }, path: 'url' },
    { name: 'a malformed url', body: { url: 'http://exa mple.com/', eventTypes: ['*'] }, path: 'url' },
    { name: 'an ftp:// url', body: { url: 'ftp://93.184.216.34/hooks', eventTypes: ['*'] }, path: 'url' },
    { name: 'a javascript: url', body: { url: 'javascript:alert(1)', eventTypes: ['*'] }, path: 'url' },
    { name: 'a url over 2048 characters', body: { url: `${PUBLIC_URL}/${'a'.repeat(2048)}`, eventTypes: ['*'] }, path: 'url' },
    {
      name: 'credentials in the url',
      body: { url: 'https://user:pass@93.184.216.34/hooks', eventTypes: ['*'] },
      path: 'url',
      code: 'invalid_webhook_url',
    },
    { name: 'no eventTypes', body: { url: PUBLIC_URL }, path: 'eventTypes' },
    { name: 'empty eventTypes', body: { url: PUBLIC_URL, eventTypes: [] }, path: 'eventTypes' },
    { name: 'an unknown event type', body: { url: PUBLIC_URL, eventTypes: ['order.placed', 'order.lost'] }, path: 'eventTypes.1' },
    { name: 'an event type in the wrong case', body: { url: PUBLIC_URL, eventTypes: ['Order.Placed'] }, path: 'eventTypes.0' },
    { name: 'eventTypes as a string', body: { url: PUBLIC_URL, eventTypes: 'order.placed' }, path: 'eventTypes' },
    {
      name: '"*" with other types',
      body: { url: PUBLIC_URL, eventTypes: ['*', 'order.placed'] },
      path: 'eventTypes',
      code: 'invalid_event_types',
    },
  ];

  test.each(invalid)('400 problem naming the field for $name; nothing is stored', async ({ body, path, code }) => {
    const before = await endpointCount();
    const response = await subscribe(body);
    expect(response.statusCode).toBe(400);
    const problem = expectProblem(response);
    expect(problem.status).toBe(400);
    expect(problem.errors?.map((error) => error.path)).toContain(path);
    if (code) expect(problem).toMatchObject({ code, type: `urn:conveyor:problem:${code}` });
    expect(await endpointCount()).toBe(before);
  });

  test('a body that is not JSON → 415, malformed JSON → 400', async () => {
    const text = await postRaw(api, '/v1/webhook-endpoints', PUBLIC_URL, 'text/plain');
    expect(text.statusCode).toBe(415);
    expectProblem(text);
    const malformed = await postRaw(api, '/v1/webhook-endpoints', '{"url": ');
    expect(malformed.statusCode).toBe(400);
    expectProblem(malformed);
  });
});

describe('SSRF guard at registration (WEBHOOK_ALLOW_PRIVATE=false)', () => {
  const refused: { url: string; reason: RegExp }[] = [
    { url: 'http://127.0.0.1/hook', reason: /127\.0\.0\.1 is a loopback address/ },
    { url: 'http://127.1:8080/hook', reason: /127\.0\.0\.1 is a loopback address/ },
    { url: 'http://2130706433/hook', reason: /127\.0\.0\.1 is a loopback address/ },
    { url: 'http://10.0.0.1/hook', reason: /10\.0\.0\.1 is a private address/ },
    { url: 'http://192.168.1.20/hook', reason: /private/ },
    { url: 'http://172.16.5.4/hook', reason: /private/ },
    { url: 'http://169.254.169.254/latest/meta-data/', reason: /169\.254\.169\.254 is a link-local/ },
    { url: 'http://100.64.0.1/hook', reason: /carrier-grade NAT/ },
    { url: 'http://224.0.0.1/hook', reason: /multicast/ },
    { url: 'http://0.0.0.0/hook', reason: /unspecified/ },
    { url: 'http://[::1]/hook', reason: /::1 is a loopback address/ },
    { url: 'http://[::ffff:127.0.0.1]/hook', reason: /embeds 127\.0\.0\.1 is a loopback address/ },
    { url: 'http://[fd00:ec2::254]/hook', reason: /unique-local/ },
    { url: 'http://[fe80::1]/hook', reason: /link-local/ },
    { url: 'http://localhost/hook', reason: /localhost is this machine/ },
    { url: 'http://LOCALHOST.:3000/hook', reason: /localhost is this machine/ },
    { url: 'http://api.localhost/hook', reason: /api\.localhost is this machine/ },
  ];

  test.each(refused)('$url → 400 problem with the reason', async ({ url, reason }) => {
    const before = await endpointCount();
    const response = await subscribe({ url, eventTypes: ['*'] });
    expect(response.statusCode).toBe(400);
    const problem = expectProblem(response);
    expect(problem).toMatchObject({
      status: 400,
      code: 'webhook_url_not_allowed',
      type: 'urn:conveyor:problem:webhook_url_not_allowed',
    });
    expect(problem.detail).toMatch(reason);
    expect(problem.errors).toEqual([{ in: 'body', path: 'url', message: problem.detail }]);
    expect(await endpointCount()).toBe(before);
  });

  const resolved: { host: string; reason: RegExp }[] = [
    { host: 'intranet.example.test', reason: /intranet\.example\.test resolves to 10\.1\.2\.3: .*private/ },
    { host: 'metadata.example.test', reason: /resolves to 169\.254\.169\.254: .*link-local/ },
    { host: 'mixed.example.test', reason: /mixed\.example\.test resolves to 127\.0\.0\.1: .*loopback/ },
    { host: 'v6-loopback.example.test', reason: /resolves to ::1: .*loopback/ },
    { host: 'nowhere.example.test', reason: /nowhere\.example\.test does not resolve \(ENOTFOUND\)/ },
  ];

  test.each(resolved)('a host name that $host → 400 problem', async ({ host, reason }) => {
    const response = await subscribe({ url: `https://${host}/hook`, eventTypes: ['*'] }, fakeDns);
    expect(response.statusCode).toBe(400);
    const problem = expectProblem(response);
    expect(problem.code).toBe('webhook_url_not_allowed');
    expect(problem.detail).toMatch(reason);
  });

  test('a host name resolving only to public addresses → 201', async () => {
    const response = await subscribe({ url: 'https://hooks.example.test/hook', eventTypes: ['*'] }, fakeDns);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ url: 'https://hooks.example.test/hook' });
  });

  test('with WEBHOOK_ALLOW_PRIVATE=true a loopback URL → 201; the URL shape is still checked', async () => {
    const allowed = await subscribe({ url: 'http://127.0.0.1:9/hook', eventTypes: ['order.placed'] }, permissive);
    expect(allowed.statusCode).toBe(201);
    expect(allowed.json()).toMatchObject({ url: 'http://127.0.0.1:9/hook', eventTypes: ['order.placed'] });
    const [row] = await sql<{ url: string }>('select url from webhook_endpoints where id = ?', [allowed.json<{ id: string }>().id]);
    expect(row?.url).toBe('http://127.0.0.1:9/hook');

    const ftp = await subscribe({ url: 'ftp://127.0.0.1/hook', eventTypes: ['*'] }, permissive);
    expect(ftp.statusCode).toBe(400);
    expectProblem(ftp);
  });
});

describe('GET /v1/webhook-endpoints and /v1/webhook-endpoints/:id, DELETE', () => {
  test('the list holds the endpoints not deleted, oldest first', async () => {
    const first = await createEndpoint(['user.registered']);
    const second = await createEndpoint(['order.cancelled']);
    const listed = (await send(api, 'GET', '/v1/webhook-endpoints')).json<{ items: { id: string; eventTypes: string[] }[] }>();
    const ids = listed.items.map((item) => item.id);
    expect(ids.indexOf(first)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(first)).toBeLessThan(ids.indexOf(second));
    expect(listed.items.find((item) => item.id === second)?.eventTypes).toEqual(['order.cancelled']);

    const deleted = await send(api, 'DELETE', `/v1/webhook-endpoints/${first}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');

    const after = (await send(api, 'GET', '/v1/webhook-endpoints')).json<{ items: { id: string }[] }>();
    expect(after.items.map((item) => item.id)).not.toContain(first);
    expect(after.items.map((item) => item.id)).toContain(second);
  });

  test('a deleted endpoint → 404 on GET and on a second DELETE; its row is kept', async () => {
    const id = await createEndpoint();
    expect((await send(api, 'DELETE', `/v1/webhook-endpoints/${id}`)).statusCode).toBe(204);

    for (const method of ['GET', 'DELETE'] as const) {
      const response = await send(api, method, `/v1/webhook-endpoints/${id}`);
      expect(response.statusCode).toBe(404);
      expect(expectProblem(response)).toMatchObject({
        status: 404,
        code: 'webhook_endpoint_not_found',
        instance: `/v1/webhook-endpoints/${id}`,
      });
    }
    const [row] = await sql<{ deleted: boolean }>('select deleted_at is not null as deleted from webhook_endpoints where id = ?', [id]);
    expect(row?.deleted).toBe(true);
  });

  test('an unknown id → 404 problem; an id that is not a UUID → 400', async () => {
    const unknown = newId();
    for (const method of ['GET', 'DELETE'] as const) {
      const response = await send(api, method, `/v1/webhook-endpoints/${unknown}`);
      expect(response.statusCode).toBe(404);
      expect(expectProblem(response)).toMatchObject({ code: 'webhook_endpoint_not_found', detail: expect.stringContaining(unknown) });

      const malformed = await send(api, method, '/v1/webhook-endpoints/not-a-uuid');
      expect(malformed.statusCode).toBe(400);
      expect(expectProblem(malformed).errors).toEqual([expect.objectContaining({ in: 'params', path: 'id' })]);
    }
  });

  test('an upper-case id finds the endpoint', async () => {
    const id = await createEndpoint();
    const response = await send(api, 'GET', `/v1/webhook-endpoints/${id.toUpperCase()}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id });
  });

  test('a disabled endpoint is shown with its reason', async () => {
    const id = await createEndpoint();
    await sql('update webhook_endpoints set enabled = false, disabled_reason = ? where id = ?', ['answered 410 Gone', id]);
    const response = await send(api, 'GET', `/v1/webhook-endpoints/${id}`);
    expect(response.json()).toMatchObject({ id, enabled: false, disabledReason: 'answered 410 Gone' });
  });
});

// ---- deliveries, inserted the way the relay and the webhooks worker write them

interface AttemptSeed {
  at: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

interface DeliverySeed {
  status: 'pending' | 'delivered' | 'failed';
  createdAt: string;
  eventType?: string;
  nextAttemptAt?: string | null;
  deliveredAt?: string | null;
  attempts?: AttemptSeed[];
}

async function insertDelivery(endpointId: string, seed: DeliverySeed): Promise<{ id: string; eventId: string }> {
  const id = newId();
  const eventId = newId();
  const attempts = seed.attempts ?? [];
  const last = attempts.at(-1);
  await sql(
    `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, next_attempt_at,
       last_status_code, last_error, created_at, delivered_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id,
      endpointId,
      eventId,
      seed.eventType ?? 'order.placed',
      JSON.stringify({ type: seed.eventType ?? 'order.placed', timestamp: seed.createdAt, data: {} }),
      seed.status,
      attempts.length,
      seed.nextAttemptAt ?? null,
      last?.statusCode ?? null,
      last?.error ?? null,
      seed.createdAt,
      seed.deliveredAt ?? null,
    ],
  );
  for (const attempt of attempts) {
    await sql(
      `insert into webhook_delivery_attempts (id, delivery_id, attempted_at, status_code, duration_ms, error)
       values (?, ?, ?, ?, ?, ?)`,
      [newId(), id, attempt.at, attempt.statusCode, attempt.durationMs, attempt.error],
    );
  }
  return { id, eventId };
}

const FAILED_ATTEMPTS: AttemptSeed[] = [
  { at: '2026-03-01T10:00:00.100Z', statusCode: 500, durationMs: 120, error: 'answered 500 Internal Server Error' },
  { at: '2026-03-01T10:00:05.300Z', statusCode: null, durationMs: 3, error: 'connect ECONNREFUSED 93.184.216.34:443' },
  { at: '2026-03-01T10:05:06.000Z', statusCode: null, durationMs: 10_000, error: 'timed out after 10000 ms' },
];

describe('GET /v1/webhook-endpoints/:id/deliveries', () => {
  let endpointId: string;
  let failed: { id: string; eventId: string };
  let pending: { id: string; eventId: string };
  let delivered: { id: string; eventId: string };

  beforeAll(async () => {
    endpointId = await createEndpoint(['*']);
    failed = await insertDelivery(endpointId, {
      status: 'failed',
      createdAt: '2026-03-01T10:00:00.000Z',
      attempts: FAILED_ATTEMPTS,
    });
    delivered = await insertDelivery(endpointId, {
      status: 'delivered',
      eventType: 'user.registered',
      createdAt: '2026-03-02T09:00:00.000Z',
      deliveredAt: '2026-03-02T09:00:00.250Z',
      attempts: [{ at: '2026-03-02T09:00:00.200Z', statusCode: 204, durationMs: 48, error: null }],
    });
    pending = await insertDelivery(endpointId, {
      status: 'pending',
      createdAt: '2026-03-03T08:00:00.000Z',
      nextAttemptAt: '2026-03-03T08:05:01.000Z',
      attempts: [{ at: '2026-03-03T08:00:00.500Z', statusCode: 503, durationMs: 75, error: 'answered 503 Service Unavailable' }],
    });
    // Another endpoint's delivery is not listed.
    await insertDelivery(await createEndpoint(['*']), { status: 'failed', createdAt: '2026-03-04T00:00:00.000Z' });
  });

  const list = (query = '') => send(api, 'GET', `/v1/webhook-endpoints/${endpointId}/deliveries${query}`);

  test('every delivery, newest first, with its attempts, status codes, errors and next attempt', async () => {
    const response = await list();
    expect(response.statusCode).toBe(200);
    const { items } = response.json<{ items: { id: string }[] }>();
    expect(items.map((item) => item.id)).toEqual([pending.id, delivered.id, failed.id]);
    expect(items[0]).toEqual({
      id: pending.id,
      endpointId,
      eventId: pending.eventId,
      eventType: 'order.placed',
      status: 'pending',
      attempts: 1,
      nextAttemptAt: '2026-03-03T08:05:01.000Z',
      lastStatusCode: 503,
      lastError: 'answered 503 Service Unavailable',
      createdAt: '2026-03-03T08:00:00.000Z',
      deliveredAt: null,
      attemptLog: [{ attemptedAt: '2026-03-03T08:00:00.500Z', statusCode: 503, durationMs: 75, error: 'answered 503 Service Unavailable' }],
    });
    expect(items[1]).toMatchObject({
      status: 'delivered',
      eventType: 'user.registered',
      attempts: 1,
      nextAttemptAt: null,
      deliveredAt: '2026-03-02T09:00:00.250Z',
      attemptLog: [{ attemptedAt: '2026-03-02T09:00:00.200Z', statusCode: 204, durationMs: 48, error: null }],
    });
    expect(items[2]).toMatchObject({
      status: 'failed',
      attempts: 3,
      nextAttemptAt: null,
      lastStatusCode: null,
      lastError: 'timed out after 10000 ms',
      attemptLog: FAILED_ATTEMPTS.map((attempt) => ({
        attemptedAt: attempt.at,
        statusCode: attempt.statusCode,
        durationMs: attempt.durationMs,
        error: attempt.error,
      })),
    });
  });

  test.each([
    ['pending', () => [pending.id]],
    ['delivered', () => [delivered.id]],
    ['failed', () => [failed.id]],
  ] as const)('?status=%s lists only those', async (status, expected) => {
    const response = await list(`?status=${status}`);
    expect(response.statusCode).toBe(200);
    expect(response.json<{ items: { id: string }[] }>().items.map((item) => item.id)).toEqual(expected());
  });

  test('?limit= keeps the latest', async () => {
    const response = await list('?limit=2');
    expect(response.json<{ items: { id: string }[] }>().items.map((item) => item.id)).toEqual([pending.id, delivered.id]);
  });

  test.each(['?status=sent', '?status=', '?limit=0', '?limit=101', '?limit=two'])('%s → 400 problem', async (query) => {
    const response = await list(query);
    expect(response.statusCode).toBe(400);
    expect(expectProblem(response).errors?.[0]).toMatchObject({ in: 'querystring' });
  });

  test('an endpoint without deliveries → an empty list', async () => {
    const id = await createEndpoint();
    const response = await send(api, 'GET', `/v1/webhook-endpoints/${id}/deliveries`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [] });
  });

  test('an unknown endpoint → 404 problem', async () => {
    const unknown = newId();
    const response = await send(api, 'GET', `/v1/webhook-endpoints/${unknown}/deliveries`);
    expect(response.statusCode).toBe(404);
    expect(expectProblem(response)).toMatchObject({ status: 404, code: 'webhook_endpoint_not_found' });
  });
});

describe('POST /v1/webhook-deliveries/:deliveryId/replay', () => {
  // Nothing consumes the queue: each test sees only its own jobs.
  beforeEach(async () => {
    await api.webhooks.obliterate({ force: true });
  });

  const replay = (deliveryId: string) => send(api, 'POST', `/v1/webhook-deliveries/${deliveryId}/replay`);

  async function deliveryRow(id: string) {
    const [row] = await sql<{ status: string; attempts: number; next_attempt_at: string | null }>(
      'select status, attempts, next_attempt_at from webhook_deliveries where id = ?',
      [id],
    );
    return row && { ...row, nextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at) };
  }

  test('a failed delivery → 202; it is pending again and its job (jobId = delivery id) is on the webhooks queue', async () => {
    const endpointId = await createEndpoint(['*']);
    const { id } = await insertDelivery(endpointId, { status: 'failed', createdAt: '2026-03-05T00:00:00.000Z', attempts: FAILED_ATTEMPTS });
    const before = Date.now();

    const response = await replay(id);

    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ deliveryId: id, status: 'pending' });
    const row = await deliveryRow(id);
    expect(row?.status).toBe('pending');
    expect(row?.nextAttemptAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row?.nextAttemptAt?.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    // The earlier attempts stay in the log.
    expect(row?.attempts).toBe(3);
    const job = await api.webhooks.getJob(id);
    expect(job?.name).toBe(WEBHOOK_JOB_NAME);
    expect(job?.data).toEqual({ deliveryId: id });
    expect(await job?.getState()).toBe('waiting');

    const listed = await send(api, 'GET', `/v1/webhook-endpoints/${endpointId}/deliveries?status=pending`);
    expect(listed.json<{ items: { id: string; attemptLog: unknown[] }[] }>().items).toEqual([
      expect.objectContaining({ id, status: 'pending', attempts: 3, attemptLog: expect.any(Array) }),
    ]);
  });

  test('a delivery whose job failed for good gets a fresh job; replaying twice leaves one', async () => {
    const { id } = await insertDelivery(await createEndpoint(['*']), {
      status: 'failed',
      createdAt: '2026-03-06T00:00:00.000Z',
      attempts: FAILED_ATTEMPTS,
    });
    // The job that exhausted the schedule is kept (removeOnFail), under the same job id.
    await api.webhooks.add(WEBHOOK_JOB_NAME, { deliveryId: id }, { jobId: id, attempts: 1 });
    const connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
    const worker = new Worker(QUEUES.webhooks, null, { connection, prefix: api.prefix, autorun: false });
    try {
      const token = 'test-token';
      const taken = await worker.getNextJob(token);
      expect(taken?.id).toBe(id);
      await taken?.moveToFailed(new Error('schedule exhausted'), token);
    } finally {
      await worker.close();
      await connection.quit();
    }
    expect(await (await api.webhooks.getJob(id))?.getState()).toBe('failed');

    expect((await replay(id)).statusCode).toBe(202);
    expect((await replay(id)).statusCode).toBe(202);

    const jobs = (await allJobs(api.webhooks)).filter((job) => job.id === id);
    expect(jobs).toHaveLength(1);
    expect(await jobs[0]?.getState()).toBe('waiting');
    expect(jobs[0]?.attemptsMade).toBe(0);
    expect(jobs[0]?.data).toEqual({ deliveryId: id });
  });

  test('a delivery claimed by a running attempt → 409 until the attempt is recorded; the check is the reset statement', async () => {
    const endpointId = await createEndpoint(['*']);
    const { id } = await insertDelivery(endpointId, { status: 'pending', createdAt: '2026-03-08T00:00:00.000Z', attempts: FAILED_ATTEMPTS });
    // The worker's claim, as DeliverWebhook makes it before sending; its job is not in the
    // queue, so only the row says that an attempt is running.
    const repository = new PostgresWebhookRepository(db.pool, testSecretCipher());
    const claimed = await repository.claimForSending(id, new Date());
    expect(claimed?.attemptId).toEqual(expect.stringMatching(UUID_V7));

    const conflict = await replay(id);
    expect(conflict.statusCode).toBe(409);
    expect(expectProblem(conflict)).toMatchObject({ status: 409, code: 'webhook_delivery_in_progress' });
    expect(await api.webhooks.getJob(id)).toBeUndefined();
    expect((await deliveryRow(id))?.nextAttemptAt).toBeNull();

    // The attempt fails as the last of its schedule, and releases the row.
    const attempt = { attemptedAt: new Date(), statusCode: 503, durationMs: 5, error: 'HTTP 503' };
    expect(
      await repository.recordAttempt({
        deliveryId: id,
        attemptId: claimed!.attemptId!,
        attempt,
        status: 'failed',
        nextAttemptAt: null,
        deliveredAt: null,
        endpoint: { id: endpointId, succeeded: false },
      }),
    ).toBe(true);
    expect((await replay(id)).statusCode).toBe(202);
    expect(await deliveryRow(id)).toMatchObject({ status: 'pending', attempts: 4 });
    expect(await (await api.webhooks.getJob(id))?.getState()).toBe('waiting');
  });

  test('a claim older than the lease (its worker died mid-attempt) does not hold a replay off', async () => {
    const { id } = await insertDelivery(await createEndpoint(['*']), { status: 'pending', createdAt: '2026-03-08T00:00:00.000Z' });
    const repository = new PostgresWebhookRepository(db.pool, testSecretCipher());
    await repository.claimForSending(id, new Date(Date.now() - attemptLeaseMs(api.config.webhookTimeoutMs) - 1000));
    expect((await replay(id)).statusCode).toBe(202);
    const [row] = await sql<{ attempt_id: string | null }>('select attempt_id from webhook_deliveries where id = ?', [id]);
    expect(row?.attempt_id).toBeNull();
  });

  test('an unknown delivery → 404 problem; an id that is not a UUID → 400', async () => {
    const unknown = newId();
    const response = await replay(unknown);
    expect(response.statusCode).toBe(404);
    expect(expectProblem(response)).toMatchObject({ status: 404, code: 'webhook_delivery_not_found' });
    expect(await api.webhooks.getJob(unknown)).toBeUndefined();

    const malformed = await replay('42');
    expect(malformed.statusCode).toBe(400);
    expectProblem(malformed);
  });

  test('a delivery of a deleted endpoint → 404, of a disabled one → 409; neither is queued', async () => {
    const deletedEndpoint = await createEndpoint(['*']);
    const ofDeleted = await insertDelivery(deletedEndpoint, { status: 'failed', createdAt: '2026-03-07T00:00:00.000Z' });
    expect((await send(api, 'DELETE', `/v1/webhook-endpoints/${deletedEndpoint}`)).statusCode).toBe(204);
    const gone = await replay(ofDeleted.id);
    expect(gone.statusCode).toBe(404);
    expect(expectProblem(gone).code).toBe('webhook_delivery_not_found');

    const disabledEndpoint = await createEndpoint(['*']);
    const ofDisabled = await insertDelivery(disabledEndpoint, { status: 'failed', createdAt: '2026-03-07T00:00:00.000Z' });
    await sql('update webhook_endpoints set enabled = false, disabled_reason = ? where id = ?', ['answered 410 Gone', disabledEndpoint]);
    const conflict = await replay(ofDisabled.id);
    expect(conflict.statusCode).toBe(409);
    expect(expectProblem(conflict)).toMatchObject({
      status: 409,
      code: 'webhook_endpoint_disabled',
      detail: expect.stringContaining('answered 410 Gone'),
    });

    for (const { id } of [ofDeleted, ofDisabled]) {
      expect((await deliveryRow(id))?.status).toBe('failed');
      expect(await api.webhooks.getJob(id)).toBeUndefined();
    }
  });
});

describe('PATCH /v1/webhook-endpoints/:id', () => {
  const patch = (id: string, body: object, target: TestApi = api) => send(target, 'PATCH', `/v1/webhook-endpoints/${id}`, body);
  const row = async (id: string) =>
    (
      await sql<{ url: string; event_types: string[]; enabled: boolean; disabled_reason: string | null }>(
        'select url, event_types, enabled, disabled_reason from webhook_endpoints where id = ?',
        [id],
      )
    )[0];

  test('changes the URL and the event types, answers the endpoint; what is left out stays', async () => {
    const id = await createEndpoint(['order.placed']);
    const response = await patch(id, { url: 'HTTPS://93.184.216.35:443/new', eventTypes: ['order.shipped', 'order.shipped'] });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ id, url: 'https://93.184.216.35/new', eventTypes: ['order.shipped'], enabled: true });
    expect(response.body).not.toContain('whsec_');

    expect((await patch(id, { eventTypes: ['*'] })).json()).toMatchObject({ url: 'https://93.184.216.35/new', eventTypes: ['*'] });
    expect(await row(id)).toMatchObject({ url: 'https://93.184.216.35/new', event_types: ['*'] });
  });

  test.each([
    ['http://127.0.0.1:8080/hook', /loopback/],
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['http://10.0.0.1/hook', /private/],
    ['http://localhost/hook', /localhost is this machine/],
  ])('a URL the SSRF guard refuses (%s) → 400, as at registration; nothing changes', async (url, reason) => {
    const id = await createEndpoint();
    const response = await patch(id, { url, enabled: false });
    expect(response.statusCode).toBe(400);
    const problem = expectProblem(response);
    expect(problem).toMatchObject({ code: 'webhook_url_not_allowed', errors: [{ in: 'body', path: 'url', message: problem.detail }] });
    expect(problem.detail).toMatch(reason);
    expect(await row(id)).toMatchObject({ url: PUBLIC_URL, enabled: true });
  });

  test('a host name that resolves to a private address → 400; to public ones → 200', async () => {
    const id = await createEndpoint();
    const refused = await patch(id, { url: 'https://intranet.example.test/hook' }, fakeDns);
    expect(refused.statusCode).toBe(400);
    expect(expectProblem(refused).detail).toMatch(/intranet\.example\.test resolves to 10\.1\.2\.3/);
    expect((await patch(id, { url: 'https://hooks.example.test/hook' }, fakeDns)).statusCode).toBe(200);
  });

  test('enabled: false disables through the API, with reason and time; enabled: true clears them and the failing streak', async () => {
    const id = await createEndpoint();
    const disabled = await patch(id, { enabled: false });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ enabled: false, disabledReason: 'disabled through the API', disabledAt: expect.stringMatching(ISO) });

    // As WEBHOOK_DISABLE_AFTER leaves an endpoint: failing for days.
    await sql(`update webhook_endpoints set disabled_reason = 'every attempt failed for 5d or more', failing_since = now() - interval '6 days' where id = ?`, [id]);
    const enabled = await patch(id, { enabled: true });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json()).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
    expect(await row(id)).toMatchObject({ enabled: true, disabled_reason: null });
  });

  test('re-enables an endpoint disabled by a 410', async () => {
    const id = await createEndpoint();
    await sql(`update webhook_endpoints set enabled = false, disabled_reason = 'answered 410 Gone', disabled_at = now() where id = ?`, [id]);
    expect((await send(api, 'GET', `/v1/webhook-endpoints/${id}`)).json()).toMatchObject({ enabled: false, disabledAt: expect.stringMatching(ISO) });
    expect((await patch(id, { enabled: true })).json()).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
  });

  test('an unknown or deleted endpoint → 404; an id that is not a UUID → 400', async () => {
    const unknown = await patch(newId(), { enabled: true });
    expect(unknown.statusCode).toBe(404);
    expect(expectProblem(unknown).code).toBe('webhook_endpoint_not_found');
    const id = await createEndpoint();
    await send(api, 'DELETE', `/v1/webhook-endpoints/${id}`);
    expect((await patch(id, { enabled: true })).statusCode).toBe(404);
    expect((await patch('not-a-uuid', { enabled: true })).statusCode).toBe(400);
  });

  const invalid: { name: string; body: object; path: string; code?: string }[] = [
    { name: 'an empty body', body: {}, path: '' },
    { name: 'JSON that is not an object', body: [{ enabled: true }], path: '' },
    { name: 'an unknown field', body: { enabled: true, secret: 'whsec_mine' }, path: 'secret' },
    { name: 'enabled that is not a boolean', body: { enabled: 'yes' }, path: 'enabled' },
    { name: 'an ftp:// url', body: { url: 'ftp://93.184.216.34/hooks' }, path: 'url' },
    { name: 'credentials in the url', body: { url: 'https://a:b@93.184.216.34/' }, path: 'url', code: 'invalid_webhook_url' },
    { name: 'empty eventTypes', body: { eventTypes: [] }, path: 'eventTypes' },
    { name: 'an unknown event type', body: { eventTypes: ['order.lost'] }, path: 'eventTypes.0' },
    { name: 'webhook.test as an event type', body: { eventTypes: ['webhook.test'] }, path: 'eventTypes.0' },
    { name: '"*" with other types', body: { eventTypes: ['*', 'order.placed'] }, path: 'eventTypes', code: 'invalid_event_types' },
  ];

  test.each(invalid)('400 problem for $name; nothing changes', async ({ body, path, code }) => {
    const id = await createEndpoint();
    const response = await patch(id, body);
    expect(response.statusCode).toBe(400);
    const problem = expectProblem(response);
    expect(problem.errors?.map((error) => error.path)).toContain(path);
    if (code) expect(problem.code).toBe(code);
    expect(await row(id)).toMatchObject({ url: PUBLIC_URL, event_types: ['order.placed'], enabled: true });
  });
});

describe('POST /v1/webhook-endpoints/:id/rotate-secret', () => {
  const rotate = (id: string, body?: object) => send(api, 'POST', `/v1/webhook-endpoints/${id}/rotate-secret`, body);
  /** The stored secrets, and whether the stored expiry is `expiresAt`. */
  /** The stored secrets, decrypted (each encrypted value holds no plaintext: checked here). */
  const secrets = async (id: string, expiresAt: string | null = null) => {
    const [row] = await sql<{ secret: string; previous_secret: string | null; expires_as_answered: boolean }>(
      `select secret, previous_secret, previous_secret_expires_at = ?::timestamptz as expires_as_answered
       from webhook_endpoints where id = ?`,
      [expiresAt, id],
    );
    if (!row) return undefined;
    const cipher = testSecretCipher();
    for (const value of [row.secret, row.previous_secret]) if (value !== null) expect(value).toMatch(/^enc:v1:/);
    return {
      ...row,
      secret: cipher.open(row.secret, { endpointId: id, column: 'secret' }),
      previous_secret: row.previous_secret === null ? null : cipher.open(row.previous_secret, { endpointId: id, column: 'previous_secret' }),
    };
  };

  test('200 with a new secret shown once; the old one is kept as the previous secret for 24 h', async () => {
    const created = (await subscribe({ url: PUBLIC_URL, eventTypes: ['*'] })).json<{ id: string; secret: string }>();
    const before = Date.now();
    const response = await rotate(created.id);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ id: string; secret: string; previousSecretExpiresAt: string }>();
    expect(Object.keys(body).sort()).toEqual(['id', 'previousSecretExpiresAt', 'secret']);
    expect(body.id).toBe(created.id);
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(body.secret).not.toBe(created.secret);
    expect(Date.parse(body.previousSecretExpiresAt)).toBeGreaterThanOrEqual(before + 24 * 3600_000 - 1000);
    expect(Date.parse(body.previousSecretExpiresAt)).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
    expect(await secrets(created.id, body.previousSecretExpiresAt)).toEqual({
      secret: body.secret,
      previous_secret: created.secret,
      expires_as_answered: true,
    });

    // A second rotation drops the first secret; `{}` is a body it accepts too.
    const again = (await rotate(created.id, {})).json<{ secret: string }>();
    expect(await secrets(created.id)).toMatchObject({ secret: again.secret, previous_secret: body.secret });
    const shown = await send(api, 'GET', `/v1/webhook-endpoints/${created.id}`);
    expect(shown.body).not.toContain('whsec_');
  });

  test('an unknown endpoint → 404; a body with fields → 400', async () => {
    expect(expectProblem(await rotate(newId())).code).toBe('webhook_endpoint_not_found');
    const id = await createEndpoint();
    const withField = await rotate(id, { secret: 'whsec_mine' });
    expect(withField.statusCode).toBe(400);
    expect(expectProblem(withField).errors?.map((error) => error.path)).toEqual(['secret']);
  });
});

describe('POST /v1/webhook-endpoints/:id/test', () => {
  beforeEach(async () => {
    await api.webhooks.obliterate({ force: true });
  });

  const test_ = (id: string) => send(api, 'POST', `/v1/webhook-endpoints/${id}/test`);

  test('202: a pending webhook.test delivery of that endpoint, queued, listed with its deliveries', async () => {
    const id = await createEndpoint(['order.cancelled']);
    const response = await test_(id);
    expect(response.statusCode, response.body).toBe(202);
    const { deliveryId, eventId } = response.json<{ deliveryId: string; eventId: string }>();
    expect(response.json()).toEqual({ deliveryId: expect.stringMatching(UUID_V7), eventId: expect.stringMatching(UUID_V7), status: 'pending' });

    const [row] = await sql<{ endpoint_id: string; event_id: string; event_type: string; status: string; body: string }>(
      'select endpoint_id, event_id, event_type, status, body from webhook_deliveries where id = ?',
      [deliveryId],
    );
    expect(row).toMatchObject({ endpoint_id: id, event_id: eventId, event_type: 'webhook.test', status: 'pending' });
    expect(JSON.parse(row!.body)).toEqual({ type: 'webhook.test', timestamp: expect.stringMatching(ISO), data: { endpointId: id, eventId } });
    const job = await api.webhooks.getJob(deliveryId);
    expect(job?.data).toEqual({ deliveryId });
    const listed = await send(api, 'GET', `/v1/webhook-endpoints/${id}/deliveries`);
    expect(listed.json<{ items: { id: string; eventType: string }[] }>().items).toEqual([
      expect.objectContaining({ id: deliveryId, eventType: 'webhook.test', status: 'pending' }),
    ]);
  });

  test('an unknown endpoint → 404, a disabled one → 409; nothing is queued', async () => {
    expect(expectProblem(await test_(newId())).code).toBe('webhook_endpoint_not_found');
    const id = await createEndpoint();
    await send(api, 'PATCH', `/v1/webhook-endpoints/${id}`, { enabled: false });
    const conflict = await test_(id);
    expect(conflict.statusCode).toBe(409);
    expect(expectProblem(conflict)).toMatchObject({ code: 'webhook_endpoint_disabled', detail: expect.stringContaining('disabled through the API') });
    expect(await allJobs(api.webhooks)).toHaveLength(0);
  });
});

describe('POST /v1/webhook-endpoints/:id/replay', () => {
  beforeEach(async () => {
    await api.webhooks.obliterate({ force: true });
  });

  const replayAll = (id: string, body: object) => send(api, 'POST', `/v1/webhook-endpoints/${id}/replay`, body);
  const statusOf = async (id: string) => (await sql<{ status: string }>('select status from webhook_deliveries where id = ?', [id]))[0]?.status;

  test('202 with how many were queued: every delivery in the status since the moment; again → 0', async () => {
    const endpointId = await createEndpoint(['*']);
    const older = await insertDelivery(endpointId, { status: 'failed', createdAt: '2026-04-30T23:59:59.999Z' });
    const failed = [
      await insertDelivery(endpointId, { status: 'failed', createdAt: '2026-05-01T00:00:00.000Z', attempts: FAILED_ATTEMPTS }),
      await insertDelivery(endpointId, { status: 'failed', createdAt: '2026-05-02T00:00:00.000Z' }),
    ];
    const delivered = await insertDelivery(endpointId, { status: 'delivered', createdAt: '2026-05-02T00:00:00.000Z' });
    const pending = await insertDelivery(endpointId, { status: 'pending', createdAt: '2026-05-02T00:00:00.000Z' });
    const elsewhere = await insertDelivery(await createEndpoint(['*']), { status: 'failed', createdAt: '2026-05-02T00:00:00.000Z' });

    // An offset is part of RFC 3339: 02:00+02:00 is midnight UTC.
    const response = await replayAll(endpointId, { status: 'failed', since: '2026-05-01T02:00:00+02:00' });
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toEqual({ endpointId, queued: 2 });
    for (const { id } of failed) {
      expect(await statusOf(id)).toBe('pending');
      expect((await api.webhooks.getJob(id))?.data).toEqual({ deliveryId: id });
    }
    for (const [{ id }, status] of [[older, 'failed'], [delivered, 'delivered'], [pending, 'pending'], [elsewhere, 'failed']] as const) {
      expect(await statusOf(id)).toBe(status);
      expect(await api.webhooks.getJob(id)).toBeUndefined();
    }
    expect((await replayAll(endpointId, { status: 'failed', since: '2026-05-01T00:00:00Z' })).json()).toEqual({ endpointId, queued: 0 });
    expect(await allJobs(api.webhooks)).toHaveLength(2);

    // Delivered ones can be sent again too (a receiver that lost them).
    expect((await replayAll(endpointId, { status: 'delivered', since: '2026-05-01T00:00:00Z' })).json()).toEqual({ endpointId, queued: 1 });
    expect(await statusOf(delivered.id)).toBe('pending');
  });

  test('leaves out a delivery an attempt holds, by the rule of the single replay', async () => {
    const endpointId = await createEndpoint(['*']);
    const held = await insertDelivery(endpointId, { status: 'pending', createdAt: '2026-05-03T00:00:00.000Z' });
    // Two jobs of one delivery (a duplicate): both claim it; the first records the last attempt
    // of the schedule, so the row is failed while the duplicate's attempt is still running.
    const repository = new PostgresWebhookRepository(db.pool, testSecretCipher());
    const first = await repository.claimForSending(held.id, new Date());
    await repository.claimForSending(held.id, new Date());
    await repository.recordAttempt({
      deliveryId: held.id,
      attemptId: first!.attemptId!,
      attempt: { attemptedAt: new Date(), statusCode: 503, durationMs: 5, error: 'HTTP 503' },
      status: 'failed',
      nextAttemptAt: null,
      deliveredAt: null,
      endpoint: { id: endpointId, succeeded: false },
    });
    const free = await insertDelivery(endpointId, { status: 'failed', createdAt: '2026-05-03T00:00:00.000Z' });

    expect((await replayAll(endpointId, { status: 'failed', since: '2026-05-01T00:00:00Z' })).json()).toEqual({ endpointId, queued: 1 });
    expect(await statusOf(held.id)).toBe('failed');
    expect(await api.webhooks.getJob(held.id)).toBeUndefined();
    expect(await statusOf(free.id)).toBe('pending');
  });

  test('an unknown endpoint → 404, a disabled one → 409', async () => {
    const body = { status: 'failed', since: '2026-05-01T00:00:00Z' };
    expect(expectProblem(await replayAll(newId(), body)).code).toBe('webhook_endpoint_not_found');
    const id = await createEndpoint();
    const failed = await insertDelivery(id, { status: 'failed', createdAt: '2026-05-04T00:00:00.000Z' });
    await sql(`update webhook_endpoints set enabled = false, disabled_reason = 'answered 410 Gone' where id = ?`, [id]);
    const conflict = await replayAll(id, body);
    expect(conflict.statusCode).toBe(409);
    expect(expectProblem(conflict).code).toBe('webhook_endpoint_disabled');
    expect(await statusOf(failed.id)).toBe('failed');
  });

  test.each([
    [{}, ['since', 'status']],
    [{ status: 'failed' }, ['since']],
    [{ status: 'pending', since: '2026-05-01T00:00:00Z' }, ['status']],
    [{ status: 'failed', since: '2026-05-01T00:00:00' }, ['since']],
    [{ status: 'failed', since: 'yesterday' }, ['since']],
    [{ status: 'failed', since: 1_746_057_600 }, ['since']],
    [{ status: 'failed', since: '2026-05-01T00:00:00Z', limit: 10 }, ['limit']],
  ])('%j → 400 problem naming %j', async (body, paths) => {
    const id = await createEndpoint();
    const response = await replayAll(id, body);
    expect(response.statusCode).toBe(400);
    expect(expectProblem(response).errors?.map((error) => error.path).sort()).toEqual(paths);
  });
});

describe('the lifecycle routes need the API key', () => {
  test.each([
    ['PATCH', '', { enabled: true }],
    ['POST', '/rotate-secret', undefined],
    ['POST', '/test', undefined],
    ['POST', '/replay', { status: 'failed', since: '2026-05-01T00:00:00Z' }],
  ] as const)('%s …%s → 401, nothing done', async (method, path, payload) => {
    const id = await createEndpoint();
    const response = await api.app.inject({ method, url: `/v1/webhook-endpoints/${id}${path}`, ...(payload ? { payload } : {}) });
    expect(response.statusCode).toBe(401);
    expectProblem(response);
    const [row] = await sql<{ enabled: boolean; previous_secret: string | null }>(
      'select enabled, previous_secret from webhook_endpoints where id = ?',
      [id],
    );
    expect(row).toEqual({ enabled: true, previous_secret: null });
  });
});

describe('OpenAPI', () => {
  test('documents the webhook routes from their zod schemas', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const create = document.paths['/v1/webhook-endpoints'].post;
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    const body = create.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(expect.arrayContaining(['url', 'eventTypes']));
    expect(body.properties.url.maxLength).toBe(2048);
    expect(body.properties.eventTypes.minItems).toBe(1);
    expect(body.properties.eventTypes.items.enum).toEqual([...WEBHOOK_EVENT_TYPES, '*']);
    expect(create.responses['201'].content['application/json'].schema.properties.secret).toBeDefined();
    expect(create.responses['400'].content['application/problem+json']).toBeDefined();

    const get = document.paths['/v1/webhook-endpoints/{id}'].get;
    expect(get.responses['200'].content['application/json'].schema.properties.secret).toBeUndefined();
    expect(document.paths['/v1/webhook-endpoints/{id}'].delete.responses['204']).toBeDefined();
    const deliveries = document.paths['/v1/webhook-endpoints/{id}/deliveries'].get;
    expect(deliveries.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'query', name: 'status' })]),
    );
    expect(document.paths['/v1/webhook-deliveries/{deliveryId}/replay'].post.responses['202']).toBeDefined();

    const patch = document.paths['/v1/webhook-endpoints/{id}'].patch;
    expect(patch.security).toEqual([{ bearerAuth: [] }]);
    const patchBody = patch.requestBody.content['application/json'].schema;
    expect(patchBody.additionalProperties).toBe(false);
    expect(Object.keys(patchBody.properties).sort()).toEqual(['deliveryRate', 'enabled', 'eventTypes', 'url']);
    expect(Object.keys(body.properties).sort()).toEqual(['deliveryRate', 'eventTypes', 'url']);
    expect(get.responses['200'].content['application/json'].schema.properties).toHaveProperty('deliveryRate');
    expect(patchBody.properties.url.maxLength).toBe(2048);
    expect(patch.responses['200'].content['application/json'].schema.properties).toHaveProperty('disabledAt');
    expect(patch.responses['400'].content['application/problem+json']).toBeDefined();
    expect(patch.responses['404']).toBeDefined();

    const rotate = document.paths['/v1/webhook-endpoints/{id}/rotate-secret'].post;
    expect(rotate.security).toEqual([{ bearerAuth: [] }]);
    expect(rotate.responses['200'].content['application/json'].schema.properties.secret).toBeDefined();
    const testEvent = document.paths['/v1/webhook-endpoints/{id}/test'].post;
    expect(testEvent.security).toEqual([{ bearerAuth: [] }]);
    expect(testEvent.responses['202']).toBeDefined();
    expect(testEvent.responses['409']).toBeDefined();
    const replayAll = document.paths['/v1/webhook-endpoints/{id}/replay'].post;
    expect(replayAll.security).toEqual([{ bearerAuth: [] }]);
    const replayBody = replayAll.requestBody.content['application/json'].schema;
    expect(replayBody.required).toEqual(expect.arrayContaining(['status', 'since']));
    expect(replayBody.properties.status.enum).toEqual(['failed', 'delivered']);
    expect(replayBody.properties.since.format).toBe('date-time');
    expect(replayAll.responses['202'].content['application/json'].schema.properties.queued).toBeDefined();
  });
});

describe('the web role', () => {
  test('buildWeb serves the webhook routes on the real wiring', async () => {
    const config = testConfig(db.url, { WEBHOOK_ALLOW_PRIVATE: 'true' });
    const infra = await createInfrastructure(config, 'test-web');
    const web = await buildWeb(infra);
    try {
      const headers = { authorization: `Bearer ${config.apiKeys[0] ?? ''}` };
      const created = await web.app.inject({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers,
        payload: { url: 'http://127.0.0.1:9/hook', eventTypes: ['order.shipped'] },
      });
      expect(created.statusCode).toBe(201);
      const { id } = created.json<{ id: string }>();
      const fetched = await web.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${id}`, headers });
      expect(fetched.statusCode).toBe(200);
      expect(fetched.json()).toMatchObject({ id, url: 'http://127.0.0.1:9/hook', eventTypes: ['order.shipped'] });
    } finally {
      await web.stop();
      await Promise.all(Object.values(infra.queues).map((queue) => queue.obliterate({ force: true })));
      await infra.close();
    }
  });
});
