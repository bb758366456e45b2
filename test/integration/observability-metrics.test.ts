import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInfrastructure, type Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { buildWeb, type RunningWeb } from '../../src/main/roles/web.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { WEBHOOK_JOB_NAME } from '../../queues/webhooks.js';
import { testConfig } from '../support/config.js';
import { createTestDatabase } from '../support/database.js';
import { newId } from '../support/orm.js';

// Prometheus metrics on real PostgreSQL and Redis: the web role's GET /metrics with the
// system-wide gauges read at scrape time, and a worker role's own metrics server on
// METRICS_PORT counting the jobs it ran.

let dropDb: () => Promise<void>;
let databaseUrl: string;

beforeAll(async () => {
  const db = await createTestDatabase();
  dropDb = db.drop;
  databaseUrl = db.url;
});

afterAll(async () => {
  await dropDb();
});

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

/** Scrapes until `ready` holds for the text (jobs settle asynchronously). */
async function scrapeUntil(url: string, ready: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(url)).text();
    if (ready(text) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the web role', () => {
  let infra: Infrastructure;
  let web: RunningWeb;

  beforeAll(async () => {
    infra = await createInfrastructure(testConfig(databaseUrl), 'web');
    web = await buildWeb(infra);
  });

  afterAll(async () => {
    await web.stop();
    for (const queue of Object.values(infra.queues)) await queue.obliterate({ force: true });
    await infra.close();
  });

  it('serves queue depth, outbox lag and backlog, and request durations by route on GET /metrics', async () => {
    // Nothing consumes these queues here: two commands wait, one webhook job is delayed.
    for (let i = 0; i < 2; i += 1) {
      const commandId = newId();
      await infra.queues.commands.add('RegisterUser', { commandId, userId: newId(), email: `${commandId}@example.com`, name: 'Ann' }, { jobId: commandId });
    }
    await infra.queues.webhooks.add(WEBHOOK_JOB_NAME, { deliveryId: newId() }, { delay: 60_000 });
    // Two rows wait for the relay, the oldest for 42 s; a published one does not count.
    const insert = `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, published_at)
                    values ($1, 'user.registered', 'user', $2, '{}', now() - $3::interval, $4)`;
    await infra.pool.query(insert, [newId(), newId(), '42 seconds', null]);
    await infra.pool.query(insert, [newId(), newId(), '5 seconds', null]);
    await infra.pool.query(insert, [newId(), newId(), '1 hour', new Date()]);
    await web.app.inject({ method: 'GET', url: '/health/live' });

    const response = await web.app.inject({ method: 'GET', url: '/metrics' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    expect(sample(text, 'conveyor_queue_jobs', { queue: 'commands', state: 'waiting' })).toBe(2);
    expect(sample(text, 'conveyor_queue_jobs', { queue: 'webhooks', state: 'delayed' })).toBe(1);
    expect(sample(text, 'conveyor_queue_jobs', { queue: 'emails', state: 'waiting' })).toBe(0);
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
      expect(sample(text, 'conveyor_queue_jobs', { queue: 'emails', state })).toBe(0);
    }
    expect(sample(text, 'conveyor_outbox_backlog')).toBe(2);
    const lag = sample(text, 'conveyor_outbox_lag_seconds') ?? 0;
    expect(lag).toBeGreaterThanOrEqual(42);
    expect(lag).toBeLessThan(120);
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/health/live', status_code: '200' })).toBe(1);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
  });

  it('reports an empty outbox as no lag', async () => {
    await infra.pool.query('update outbox_messages set published_at = now() where published_at is null');
    const text = (await web.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(text, 'conveyor_outbox_backlog')).toBe(0);
    expect(sample(text, 'conveyor_outbox_lag_seconds')).toBe(0);
  });
});

describe('a worker role', () => {
  let infra: Infrastructure;
  let worker: RunningWorker;
  let url: string;

  beforeAll(async () => {
    infra = await createInfrastructure(testConfig(databaseUrl, { METRICS_PORT: '0' }), 'worker');
    const port = infra.metricsServer?.port;
    if (!port) throw new Error('the worker role should serve metrics when METRICS_PORT is set');
    url = `http://127.0.0.1:${port}/metrics`;
    worker = startCommandWorker(infra);
  });

  afterAll(async () => {
    await worker.stop(5000);
    for (const queue of Object.values(infra.queues)) await queue.obliterate({ force: true });
    await infra.close();
  });

  it('serves its job counters and durations on METRICS_PORT', async () => {
    const ok = newId();
    await infra.queues.commands.add('RegisterUser', { commandId: ok, userId: newId(), email: `${ok}@example.com`, name: 'Ann' }, { jobId: ok });
    // An order for a user that does not exist: a domain error, failed for good at once.
    const doomed = newId();
    await infra.queues.commands.add(
      'PlaceOrder',
      { commandId: doomed, orderId: newId(), userId: newId(), items: [{ productId: newId(), quantity: 1 }] },
      { jobId: doomed },
    );

    const text = await scrapeUntil(url, (t) => sample(t, 'conveyor_jobs_failed_total', { name: 'PlaceOrder' }) !== undefined && sample(t, 'conveyor_jobs_completed_total') !== undefined);

    expect(sample(text, 'conveyor_jobs_completed_total', { queue: 'commands', name: 'RegisterUser' })).toBe(1);
    expect(sample(text, 'conveyor_jobs_failed_total', { queue: 'commands', name: 'PlaceOrder', outcome: 'permanent' })).toBe(1);
    expect(sample(text, 'conveyor_jobs_failed_total', { queue: 'commands', name: 'PlaceOrder', outcome: 'will_retry' })).toBeUndefined();
    expect(sample(text, 'conveyor_job_duration_seconds_count', { queue: 'commands', name: 'RegisterUser' })).toBe(1);
    expect(sample(text, 'conveyor_job_duration_seconds_count', { queue: 'commands', name: 'PlaceOrder' })).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    // A worker process has no API: nothing but /metrics.
    expect((await fetch(url.replace('/metrics', '/v1/users'))).status).toBe(404);
  });

  it('counts an attempt that will be retried, and the retry', async () => {
    const name = `flaky-${newId().slice(-8)}`;
    const connection = createRedisConnection({ url: infra.config.redisUrl, role: 'worker' });
    const queue = new Queue(name, { connection, prefix: infra.config.queuePrefix });
    let calls = 0;
    const flaky = new Worker(
      name,
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('connection lost');
        return 'ok';
      },
      { connection, prefix: infra.config.queuePrefix },
    );
    infra.metrics.observeWorker(flaky);
    try {
      await queue.add('Flaky', {}, { attempts: 3 });
      const text = await scrapeUntil(url, (t) => sample(t, 'conveyor_jobs_completed_total', { queue: name }) !== undefined);
      expect(sample(text, 'conveyor_jobs_failed_total', { queue: name, name: 'Flaky', outcome: 'will_retry' })).toBe(1);
      expect(sample(text, 'conveyor_jobs_retried_total', { queue: name, name: 'Flaky' })).toBe(1);
      expect(sample(text, 'conveyor_jobs_completed_total', { queue: name, name: 'Flaky' })).toBe(1);
    } finally {
      await flaky.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await connection.quit();
    }
  });

  it('is not started for the web role, nor without METRICS_PORT', async () => {
    const web = await createInfrastructure(testConfig(databaseUrl, { METRICS_PORT: '0' }), 'web');
    const quiet = await createInfrastructure(testConfig(databaseUrl), 'worker');
    expect(web.metricsServer).toBeUndefined();
    expect(quiet.metricsServer).toBeUndefined();
    await Promise.all([web.close(), quiet.close()]);
  });
});
