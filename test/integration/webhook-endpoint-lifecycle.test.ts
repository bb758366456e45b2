import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookManagement } from '../../src/application/webhooks/management.js';
import { createInfrastructure, type Infrastructure } from '../../src/main/infrastructure.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { startRelay, type RunningRelay } from '../../src/main/roles/relay.js';
import { buildWeb, type RunningWeb } from '../../src/main/roles/web.js';
import { createWebhookManagement, startWebhooks } from '../../src/main/roles/webhooks.js';
import { testConfig } from '../support/config.js';
import { infrastructureOnFreshDatabase, publishRestocks } from '../support/infrastructure.js';
import { HttpReceiver, type ReceivedRequest, verifies } from '../support/receivers.js';
import { waitFor } from '../support/wait.js';

// The endpoint lifecycle on the real wiring: the web app (buildWeb, through app.inject), the
// relay turning outbox rows into deliveries, the webhooks worker sending them to real HTTP
// receivers on 127.0.0.1, all on real PostgreSQL and Redis.

let infra: Infrastructure;
let web: RunningWeb;
let relay: RunningRelay;
let worker: RunningWorker;
const receivers: HttpReceiver[] = [];

beforeAll(async () => {
  // One retry, at once: a failing receiver fails a delivery after two attempts.
  infra = await infrastructureOnFreshDatabase(
    { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '0', WORKER_CONCURRENCY: '8' },
    'test-lifecycle',
  );
  web = await buildWeb(infra);
  relay = await startRelay(infra, { pollIntervalMs: 100 });
  worker = startWebhooks(infra);
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  // The next test's events go to its own endpoints only.
  await infra.pool.query('update webhook_endpoints set deleted_at = now() where deleted_at is null');
});

afterAll(async () => {
  await worker.stop(5000);
  await relay.stop();
  await web.stop();
  await infra.close();
});

const headers = { authorization: 'Bearer test-key' };

function call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) {
  return web.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
}

async function receiver(answer: HttpReceiver['answer']): Promise<HttpReceiver> {
  const started = await HttpReceiver.start(answer);
  receivers.push(started);
  return started;
}

async function createEndpoint(url: string, eventTypes = ['product.restocked']): Promise<{ id: string; secret: string }> {
  const response = await call('POST', '/v1/webhook-endpoints', { url, eventTypes });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

const endpointJson = async (id: string) => (await call('GET', `/v1/webhook-endpoints/${id}`)).json<Record<string, unknown>>();

const count = async (query: string, params: unknown[] = []) =>
  Number((await infra.pool.query<{ n: string }>(query, params)).rows[0]?.n);

const publish = (n: number) => publishRestocks(infra.pool, n);

const allPublished = () => waitFor(async () => (await count('select count(*) as n from outbox_messages where published_at is null')) === 0);

const signatures = (request: ReceivedRequest) => String(request.headers['webhook-signature']).split(' ');

describe('rotate-secret', () => {
  it('during the overlap receivers with only the new or only the old secret both verify every delivery; after it only the new one', async () => {
    const hook = await receiver(() => ({ status: 204 }));
    const { id, secret: oldSecret } = await createEndpoint(hook.url);

    const rotated = await call('POST', `/v1/webhook-endpoints/${id}/rotate-secret`);
    expect(rotated.statusCode, rotated.body).toBe(200);
    const { secret: newSecret, previousSecretExpiresAt } = rotated.json<{ secret: string; previousSecretExpiresAt: string }>();
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    // WEBHOOK_SECRET_OVERLAP: 24 h by default.
    expect(Date.parse(previousSecretExpiresAt) - Date.now()).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(Date.parse(previousSecretExpiresAt) - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    const shown = await endpointJson(id);
    expect(shown.previousSecretExpiresAt).toBe(previousSecretExpiresAt);
    expect(JSON.stringify(shown)).not.toContain('whsec_');

    // Events and a test event, in the overlap.
    await publish(5);
    expect((await call('POST', `/v1/webhook-endpoints/${id}/test`)).statusCode).toBe(202);
    await waitFor(async () => hook.requests.length === 6);
    for (const request of hook.requests) {
      expect(signatures(request)).toHaveLength(2);
      expect(verifies(newSecret, request)).toBe(true);
      expect(verifies(oldSecret, request)).toBe(true);
    }

    // The overlap passes: moving the rotation's clock a day back makes its expiry past.
    await infra.pool.query(
      `update webhook_endpoints set previous_secret_expires_at = now() - interval '1 millisecond' where id = $1`,
      [id],
    );
    await publish(5);
    await waitFor(async () => hook.requests.length === 11);
    for (const request of hook.requests.slice(6)) {
      expect(signatures(request)).toHaveLength(1);
      expect(verifies(newSecret, request)).toBe(true);
      expect(verifies(oldSecret, request)).toBe(false);
    }
  });
});

describe('re-enabling', () => {
  it('after a 410 the endpoint gets nothing; PATCH enabled: true clears the reason and deliveries resume', async () => {
    let gone = true;
    const hook = await receiver(() => (gone ? { status: 410 } : { status: 204 }));
    const { id } = await createEndpoint(hook.url);

    await publish(1);
    await waitFor(async () => (await endpointJson(id)).enabled === false);
    const disabled = await endpointJson(id);
    expect(disabled).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410 Gone') });
    expect(Date.parse(String(disabled.disabledAt))).toBeGreaterThan(Date.now() - 30_000);

    // While disabled: no new deliveries, and no test event.
    await publish(3);
    await allPublished();
    const test = await call('POST', `/v1/webhook-endpoints/${id}/test`);
    expect(test.statusCode).toBe(409);
    expect(test.json()).toMatchObject({ code: 'webhook_endpoint_disabled' });
    expect(hook.requests).toHaveLength(1);

    gone = false;
    const enabled = await call('PATCH', `/v1/webhook-endpoints/${id}`, { enabled: true });
    expect(enabled.statusCode, enabled.body).toBe(200);
    expect(enabled.json()).toMatchObject({ id, enabled: true, disabledReason: null, disabledAt: null, failingSince: null });

    await publish(2);
    expect((await call('POST', `/v1/webhook-endpoints/${id}/test`)).statusCode).toBe(202);
    await waitFor(async () => hook.requests.length === 4);
    await waitFor(async () => (await count(`select count(*) as n from webhook_deliveries where endpoint_id = $1 and status = 'delivered'`, [id])) === 3);
    expect(hook.requests.slice(1).map((request) => JSON.parse(request.body).type).sort()).toEqual([
      'product.restocked',
      'product.restocked',
      'webhook.test',
    ]);
  });

  it('PATCH moves the deliveries to a new URL, and new event types apply to the next events', async () => {
    const first = await receiver(() => ({ status: 204 }));
    const second = await receiver(() => ({ status: 204 }));
    const { id } = await createEndpoint(first.url, ['order.cancelled']);

    const patched = await call('PATCH', `/v1/webhook-endpoints/${id}`, { url: `${second.url}/v2`, eventTypes: ['product.restocked'] });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ url: `${second.url}/v2`, eventTypes: ['product.restocked'], enabled: true });

    await publish(2);
    await waitFor(async () => second.requests.length === 2);
    expect(second.requests.map((request) => request.url)).toEqual(['/v2', '/v2']);
    expect(first.requests).toHaveLength(0);
  });
});

describe('test events', () => {
  it('sends a signed webhook.test to that endpoint only, listed with its deliveries', async () => {
    const hook = await receiver(() => ({ status: 200 }));
    const other = await receiver(() => ({ status: 200 }));
    // Subscribed to nothing that happens here: the test event goes anyway.
    const { id, secret } = await createEndpoint(hook.url, ['order.cancelled']);
    await createEndpoint(other.url, ['*']);

    const sent = await call('POST', `/v1/webhook-endpoints/${id}/test`);
    expect(sent.statusCode, sent.body).toBe(202);
    const { deliveryId, eventId } = sent.json<{ deliveryId: string; eventId: string; status: string }>();
    expect(sent.json()).toMatchObject({ status: 'pending' });

    await waitFor(async () => hook.requests.length === 1);
    const [request] = hook.requests;
    expect(request?.headers['webhook-id']).toBe(deliveryId);
    expect(new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>)).toEqual({
      type: 'webhook.test',
      timestamp: expect.any(String),
      data: { endpointId: id, eventId },
    });
    const listed = await waitFor(async () => {
      const { items } = (await call('GET', `/v1/webhook-endpoints/${id}/deliveries`)).json<{ items: Record<string, unknown>[] }>();
      return items[0]?.status === 'delivered' ? items : undefined;
    });
    expect(listed).toEqual([expect.objectContaining({ id: deliveryId, eventId, eventType: 'webhook.test', attempts: 1, lastStatusCode: 200 })]);
    expect(other.requests).toHaveLength(0);
  });
});

describe('bulk replay', () => {
  it('replays 200 failed deliveries: 200 requests, each once, however often and concurrently it is called', async () => {
    let healthy = false;
    const hook = await receiver(() => (healthy ? { status: 204 } : { status: 503 }));
    const { id } = await createEndpoint(hook.url);
    const since = new Date(Date.now() - 1000).toISOString();
    const failed = () => count(`select count(*) as n from webhook_deliveries where endpoint_id = $1 and status = 'failed'`, [id]);
    const delivered = () => count(`select count(*) as n from webhook_deliveries where endpoint_id = $1 and status = 'delivered'`, [id]);

    await publish(200);
    await waitFor(async () => (await failed()) === 200, 60_000, async () => `200 failed deliveries (${await failed()})`);
    // Two attempts each (WEBHOOK_RETRY_SCHEDULE=0).
    expect(hook.requests).toHaveLength(400);

    healthy = true;
    const before = hook.requests.length;
    const replay = () => call('POST', `/v1/webhook-endpoints/${id}/replay`, { status: 'failed', since });
    // Two at once: the row locks let each delivery be reset by one of them.
    const answers = await Promise.all([replay(), replay()]);
    for (const answer of answers) {
      expect(answer.statusCode, answer.body).toBe(202);
      expect(answer.json()).toMatchObject({ endpointId: id, queued: expect.any(Number) });
    }
    expect(answers.reduce((sum, answer) => sum + answer.json<{ queued: number }>().queued, 0)).toBe(200);
    // Once more while they are being sent: they are pending (or delivered), so none matches.
    expect((await replay()).json()).toEqual({ endpointId: id, queued: 0 });

    await waitFor(async () => (await delivered()) === 200, 60_000, async () => `200 delivered (${await delivered()})`);
    expect((await replay()).json()).toEqual({ endpointId: id, queued: 0 });
    // Nothing else is on its way.
    await waitFor(async () => {
      const jobs = await infra.queues.webhooks.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(jobs).every((n) => n === 0);
    });
    const replayed = hook.requests.slice(before);
    expect(replayed).toHaveLength(200);
    expect(new Set(replayed.map((request) => request.headers['webhook-id'])).size).toBe(200);
  });

  it('replays only what was created since the moment given', async () => {
    const hook = await receiver(() => ({ status: 500 }));
    const { id } = await createEndpoint(hook.url);
    await publish(3);
    await waitFor(async () => (await count(`select count(*) as n from webhook_deliveries where endpoint_id = $1 and status = 'failed'`, [id])) === 3);
    const later = new Date(Date.now() + 60_000).toISOString();
    const answer = await call('POST', `/v1/webhook-endpoints/${id}/replay`, { status: 'failed', since: later });
    expect(answer.json()).toEqual({ endpointId: id, queued: 0 });
  });
});

describe('WEBHOOK_DISABLE_AFTER', () => {
  let strict: Infrastructure;
  let strictWorker: RunningWorker;
  let management: WebhookManagement;

  beforeAll(async () => {
    // Every attempt fails for 2 s → disabled; a retry about every second (± 20 %).
    strict = await createInfrastructure(
      testConfig(infra.config.databaseUrl, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DISABLE_AFTER: '2s', WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1' }),
      'test-disable-after',
    );
    strictWorker = startWebhooks(strict);
    management = createWebhookManagement(strict);
  });

  afterAll(async () => {
    await strictWorker.stop(5000);
    await strict.close();
  });

  it('disables an endpoint that failed every attempt for that long, records why and when, and sends it nothing more', async () => {
    const hook = await receiver(() => ({ status: 500, body: 'down' }));
    const endpoint = await management.createEndpoint.execute({ url: hook.url, eventTypes: ['*'] });
    const { deliveryId } = await management.sendTest.execute(endpoint.id);

    const disabled = await waitFor(async () => {
      const found = await management.getEndpoint.execute(endpoint.id);
      return found.enabled ? undefined : found;
    }, 20_000);
    const [delivery] = await waitFor(async () => {
      const list = await management.listDeliveries.execute({ endpointId: endpoint.id });
      return list[0]?.status === 'failed' ? list : undefined;
    }, 20_000);

    const firstAttempt = delivery!.attemptLog[0]!.attemptedAt;
    expect(disabled.failingSince).toEqual(firstAttempt);
    expect(disabled.disabledReason).toBe(
      `every attempt failed for 2s or more, since ${firstAttempt.toISOString()} (WEBHOOK_DISABLE_AFTER)`,
    );
    expect(disabled.disabledAt!.getTime() - firstAttempt.getTime()).toBeGreaterThanOrEqual(2000);
    // The attempt that disabled it was the last one sent (those before it came within 2 s of
    // the first); the next retry failed unsent.
    expect(delivery).toMatchObject({ id: deliveryId, status: 'failed', lastError: 'endpoint disabled' });
    expect(delivery!.attempts).toBeGreaterThanOrEqual(2);
    expect(delivery!.attemptLog.slice(0, -1).every((a) => a.attemptedAt.getTime() - firstAttempt.getTime() < 2000)).toBe(true);
    expect(hook.requests).toHaveLength(delivery!.attempts);
    await expect(management.sendTest.execute(endpoint.id)).rejects.toMatchObject({ code: 'webhook_endpoint_disabled' });

    // Enabled again, its count starts afresh: the next failure does not disable it at once.
    await management.updateEndpoint.execute({ endpointId: endpoint.id, enabled: true });
    await management.sendTest.execute(endpoint.id);
    await waitFor(async () => hook.requests.length === delivery!.attempts + 1);
    await waitFor(async () => (await management.getEndpoint.execute(endpoint.id)).failingSince !== null);
    expect(await management.getEndpoint.execute(endpoint.id)).toMatchObject({ enabled: true, disabledReason: null });
  });
});
