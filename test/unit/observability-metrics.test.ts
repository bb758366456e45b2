import { UnrecoverableError, type Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { Metrics, failureOf } from '../../src/infrastructure/observability/metrics.js';
import { API_KEY, inMemoryApi } from './support/api.js';

// The Prometheus side of the HTTP edge, on in-memory ports: GET /metrics needs no key and
// times requests by route pattern; the job-failure classification behind the worker counters.

const auth = { authorization: `Bearer ${API_KEY}` };

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (wanted.every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('GET /metrics on the API', () => {
  it('serves Prometheus text without a key: process metrics and request durations by route pattern', async () => {
    const metrics = new Metrics();
    const { app } = await inMemoryApi({ metrics });
    const orderId = '0190c2a4-7b5e-7c3d-8e9f-0a1b2c3d4e5f';
    await app.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: auth });
    await app.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: auth });
    await app.inject({ method: 'GET', url: '/v1/orders/not-a-uuid', headers: auth });
    await app.inject({ method: 'POST', url: '/v1/users', headers: auth, payload: { email: 'a@example.com', name: 'A' } });
    await app.inject({ method: 'GET', url: '/wp-login.php' });

    const response = await app.inject({ method: 'GET', url: '/metrics' });
    await app.close();

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    // Default process metrics, under their standard names.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    const route = { method: 'GET', route: '/v1/orders/:orderId' };
    expect(sample(text, 'http_request_duration_seconds_count', { ...route, status_code: '404' })).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_count', { ...route, status_code: '400' })).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_bucket', { ...route, status_code: '404', le: '+Inf' })).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/users', status_code: '202' })).toBe(1);
    // A URL no route matches is not a label value of its own.
    expect(sample(text, 'http_request_duration_seconds_count', { route: '(unmatched)', status_code: '404' })).toBe(1);
    expect(text).not.toContain(orderId);
    expect(text).not.toContain('wp-login');
  });

  it('is not there when the app is built without metrics', async () => {
    const { app } = await inMemoryApi();
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    await app.close();
    expect(response.statusCode).toBe(404);
  });

  it('counts email and webhook outcomes and published events', async () => {
    const metrics = new Metrics();
    metrics.countEmail('sent');
    metrics.countEmail('sent');
    metrics.countWebhook('retry');
    metrics.countPublished('order.placed');
    const text = await metrics.render();
    expect(sample(text, 'conveyor_email_deliveries_total', { outcome: 'sent' })).toBe(2);
    expect(sample(text, 'conveyor_webhook_deliveries_total', { outcome: 'retry' })).toBe(1);
    expect(sample(text, 'conveyor_outbox_events_published_total', { type: 'order.placed' })).toBe(1);
  });
});

describe('queue depth at scrape time', () => {
  it('leaves out a queue whose Redis does not answer, and the scrape still succeeds', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (fields: unknown) => warnings.push(fields) } as never;
    const metrics = new Metrics({ logger, collectTimeoutMs: 50 });
    const queue = (name: string, getJobCounts: () => Promise<Record<string, number>>) => ({ name, getJobCounts }) as unknown as Queue;
    metrics.trackQueues([
      queue('commands', async () => ({ waiting: 3, active: 1, delayed: 0, failed: 2, completed: 9 })),
      queue('emails', () => new Promise(() => undefined)),
      queue('webhooks', async () => {
        throw new Error('Stream is not writeable');
      }),
    ]);

    const text = await metrics.render();

    expect(sample(text, 'conveyor_queue_jobs', { queue: 'commands', state: 'waiting' })).toBe(3);
    expect(sample(text, 'conveyor_queue_jobs', { queue: 'commands', state: 'completed' })).toBe(9);
    expect(sample(text, 'conveyor_queue_jobs', { queue: 'emails' })).toBeUndefined();
    expect(sample(text, 'conveyor_queue_jobs', { queue: 'webhooks' })).toBeUndefined();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(warnings).toHaveLength(2);
  });
});

describe('a failed job attempt', () => {
  const job = (attemptsMade: number, attempts: number) => ({ attemptsMade, opts: { attempts } });

  it('will be retried while attempts are left', () => {
    expect(failureOf(job(1, 8), new Error('connection lost'))).toBe('will_retry');
    expect(failureOf(job(7, 8), new Error('connection lost'))).toBe('will_retry');
  });

  it('is permanent on the last attempt or when unrecoverable', () => {
    expect(failureOf(job(8, 8), new Error('connection lost'))).toBe('permanent');
    expect(failureOf(job(1, 8), new UnrecoverableError('insufficient_stock: no'))).toBe('permanent');
    expect(failureOf({ attemptsMade: 1, opts: {} }, new Error('x'))).toBe('permanent');
  });
});
