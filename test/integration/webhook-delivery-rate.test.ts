import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInfrastructure, type Infrastructure } from '../../src/main/infrastructure.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { buildWeb, type RunningWeb } from '../../src/main/roles/web.js';
import { startWebhooks } from '../../src/main/roles/webhooks.js';
import { testConfig } from '../support/config.js';
import { createTestDatabase } from '../support/database.js';
import { expectProblem } from '../support/in-process-api.js';
import { HttpReceiver, type ReceivedRequest } from '../support/receivers.js';
import { waitFor } from '../support/wait.js';

// Each endpoint's delivery rate (docs/adr/0013-webhook-delivery-rate.md) on the real wiring:
// the web app (through app.inject) registers endpoints and queues webhook.test deliveries, and
// two webhooks workers — each on its own infrastructure, so its own Redis connections and
// PostgreSQL pool, as two processes would be — send them to real HTTP receivers.

let drop: () => Promise<void>;
let infra: Infrastructure;
let second: Infrastructure;
let web: RunningWeb;
const workers: RunningWorker[] = [];
/** Jobs each worker completed: the limit must hold across both. */
const completedBy = [0, 0];
const receivers: HttpReceiver[] = [];

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  // One retry at once: a throttled job that used up attempts would fail after two.
  const config = testConfig(db.url, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '0', WORKER_CONCURRENCY: '8' });
  infra = await createInfrastructure(config, 'test-rate');
  second = await createInfrastructure(config, 'test-rate-2');
  web = await buildWeb(infra);
  await startWorkers();
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop(5000)));
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await web.stop();
  await second.close();
  await infra.close();
  await drop();
});

/**
 * Starts the two workers and lets them warm up on a couple of deliveries (connections opened,
 * code compiled), so the timings below are about the rate, not the start.
 */
async function startWorkers(): Promise<void> {
  [infra, second].forEach((target, index) => {
    const running = startWebhooks(target);
    running.worker.on('completed', () => (completedBy[index] = (completedBy[index] ?? 0) + 1));
    workers.push(running);
  });
  const warmUp = await receiver();
  const { id } = await createEndpoint(warmUp.url);
  await queueTests(id, 2);
  await waitFor(async () => warmUp.requests.length >= 2, 15_000, 'the warm-up deliveries');
}

const headers = { authorization: 'Bearer test-key' };

function call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) {
  return web.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
}

async function receiver(): Promise<HttpReceiver> {
  const started = await HttpReceiver.start();
  receivers.push(started);
  return started;
}

async function createEndpoint(url: string, deliveryRate?: number): Promise<{ id: string; secret: string }> {
  const response = await call('POST', '/v1/webhook-endpoints', { url, eventTypes: ['*'], ...(deliveryRate === undefined ? {} : { deliveryRate }) });
  expect(response.statusCode, response.body).toBe(201);
  expect(response.json()).toMatchObject({ deliveryRate: deliveryRate ?? null });
  return response.json();
}

/** Queues `n` webhook.test deliveries to the endpoint (POST …/test), one after the other. */
async function queueTests(endpointId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const response = await call('POST', `/v1/webhook-endpoints/${endpointId}/test`);
    expect(response.statusCode, response.body).toBe(202);
  }
}

/** The most arrivals in any window of `windowMs` (each window starts at an arrival). */
function mostInWindow(requests: readonly ReceivedRequest[], windowMs: number): number {
  const times = requests.map((request) => request.receivedAt).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

const span = (requests: readonly ReceivedRequest[]) => requests.at(-1)!.receivedAt - requests[0]!.receivedAt;

/** Every request verifies with the secret, and each delivery arrived exactly once. */
function expectSignedOnceEach(requests: readonly ReceivedRequest[], secret: string, n: number): void {
  expect(requests).toHaveLength(n);
  expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(n);
  for (const request of requests) new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
}

/** Each delivery of the endpoint is delivered after one attempt: waiting for the rate cost none. */
async function expectOneAttemptEach(endpointId: string, n: number): Promise<void> {
  const { rows } = await infra.pool.query<{ status: string; attempts: number; n: string }>(
    `select status, attempts, count(*) as n from webhook_deliveries where endpoint_id = $1 group by status, attempts`,
    [endpointId],
  );
  expect(rows).toEqual([{ status: 'delivered', attempts: 1, n: String(n) }]);
}

describe('the delivery rate of an endpoint', () => {
  it('drains a backlog at 5/s across two workers, each delivery once and signed, while an endpoint at 100/s beside it goes at once', async () => {
    const slow = await receiver();
    const fast = await receiver();
    const limited = await createEndpoint(slow.url, 5);
    const quick = await createEndpoint(fast.url, 100);
    // The backlog, as after an outage: queued while the workers are paused, the limited endpoint's first.
    await Promise.all(workers.map((running) => running.worker.pause()));
    await queueTests(limited.id, 30);
    await queueTests(quick.id, 30);

    completedBy.fill(0);
    const started = Date.now();
    await Promise.all(workers.map((running) => running.worker.resume()));
    await waitFor(async () => fast.requests.length >= 30, 10_000, () => `30 deliveries to the fast endpoint (${fast.requests.length})`);
    const fastDone = Date.now() - started;
    await waitFor(async () => slow.requests.length >= 30, 20_000, () => `30 deliveries to the limited endpoint (${slow.requests.length})`);
    // Let a duplicate, if any, land before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));

    expectSignedOnceEach(slow.requests, limited.secret, 30);
    expectSignedOnceEach(fast.requests, quick.secret, 30);
    // 5/s with a burst of 2 (the tolerance of one interval): at most 7 in any second, and the
    // 28 after the burst one interval (200 ms) apart at least on average.
    expect(mostInWindow(slow.requests, 1000)).toBeLessThanOrEqual(7);
    expect(mostInWindow(slow.requests, 3000)).toBeLessThanOrEqual(17);
    expect(span(slow.requests)).toBeGreaterThanOrEqual(28 * 200 - 100);
    // The fast endpoint's deliveries were queued behind the whole limited backlog, and were not
    // held back by it: all of them arrived before the limited endpoint's 15th (which its rate
    // holds 2.6 s or more after its first, however busy the machine).
    expect(fastDone).toBeLessThan(5000);
    expect(fast.requests.at(-1)!.receivedAt).toBeLessThan(slow.requests[14]!.receivedAt);
    // Both workers sent deliveries, yet the receiver saw one rate.
    expect(completedBy[0]).toBeGreaterThan(0);
    expect(completedBy[1]).toBeGreaterThan(0);

    await expectOneAttemptEach(limited.id, 30);
    await expectOneAttemptEach(quick.id, 30);
    const endpoint = (await call('GET', `/v1/webhook-endpoints/${limited.id}`)).json<Record<string, unknown>>();
    expect(endpoint).toMatchObject({ enabled: true, failingSince: null, deliveryRate: 5 });
  });

  it('applies a PATCHed rate at once, to the deliveries already waiting at the old one', async () => {
    const hook = await receiver();
    const { id, secret } = await createEndpoint(hook.url, 1);
    await queueTests(id, 20);
    // At 1/s: two at once (the burst), then one a second.
    await waitFor(async () => hook.requests.length >= 3, 10_000, () => `3 deliveries at 1/s (${hook.requests.length})`);
    const patched = await call('PATCH', `/v1/webhook-endpoints/${id}`, { deliveryRate: 50 });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id, deliveryRate: 50 });
    const at = Date.now();
    const before = hook.requests.length;
    expect(before).toBeLessThan(8);

    // The rest would take 13 s or more at 1/s; at 50/s well under two.
    await waitFor(async () => hook.requests.length >= 20, 10_000, () => `20 deliveries (${hook.requests.length})`);
    expect(Date.now() - at).toBeLessThan(3000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expectSignedOnceEach(hook.requests, secret, 20);
    await expectOneAttemptEach(id, 20);

    const listed = (await call('GET', '/v1/webhook-endpoints')).json<{ items: { id: string; deliveryRate: number | null }[] }>();
    expect(listed.items.find((item) => item.id === id)).toMatchObject({ deliveryRate: 50 });
  });

  it('holds a lower PATCHed rate too, and null puts the endpoint back on WEBHOOK_DELIVERY_RATE', async () => {
    const hook = await receiver();
    const { id } = await createEndpoint(hook.url);
    const patched = await call('PATCH', `/v1/webhook-endpoints/${id}`, { deliveryRate: 2 });
    expect(patched.json()).toMatchObject({ deliveryRate: 2 });
    await queueTests(id, 8);
    await waitFor(async () => hook.requests.length >= 8, 10_000, () => `8 deliveries at 2/s (${hook.requests.length})`);
    // Two at once, then one every 500 ms.
    expect(span(hook.requests)).toBeGreaterThanOrEqual(6 * 500 - 100);
    expect(mostInWindow(hook.requests, 1000)).toBeLessThanOrEqual(4);

    const reset = await call('PATCH', `/v1/webhook-endpoints/${id}`, { deliveryRate: null });
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ deliveryRate: null });
    const from = hook.requests.length;
    await queueTests(id, 8);
    // At the default (100/s) the next eight come together.
    await waitFor(async () => hook.requests.length >= from + 8, 10_000, () => `8 more deliveries (${hook.requests.length - from})`);
    expect(span(hook.requests.slice(from))).toBeLessThan(1000);
  });

  it.each([
    ['zero', 0],
    ['negative', -3],
    ['above 1000', 1000.5],
    ['below 0.01', 0.001],
    ['a string', 'fast'],
    ['a numeric string', '5'],
  ])('refuses a deliveryRate that is %s with 400, at registration and in a PATCH', async (_what, deliveryRate) => {
    const hook = await receiver();
    const created = await call('POST', '/v1/webhook-endpoints', { url: hook.url, eventTypes: ['*'], deliveryRate });
    expect(created.statusCode).toBe(400);
    expect(expectProblem(created).errors).toEqual([expect.objectContaining({ in: 'body', path: 'deliveryRate' })]);

    const { id } = await createEndpoint(hook.url, 3);
    const patched = await call('PATCH', `/v1/webhook-endpoints/${id}`, { deliveryRate });
    expect(patched.statusCode).toBe(400);
    expect(expectProblem(patched).errors).toEqual([expect.objectContaining({ in: 'body', path: 'deliveryRate' })]);
    expect((await call('GET', `/v1/webhook-endpoints/${id}`)).json()).toMatchObject({ deliveryRate: 3 });
  });
});
