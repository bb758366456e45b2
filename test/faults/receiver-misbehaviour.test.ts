import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebhookBody } from '../../src/infrastructure/webhooks/payload.js';
import { WEBHOOK_JOB_NAME, webhookJobOptions } from '../../queues/webhooks.js';
import { generateWebhookSecret } from '../../src/infrastructure/webhooks/signing.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { createRedisConnection, type RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { QUEUES } from '../../queues/names.js';
import { REDIS_URL } from '../support/config.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { createTestDatabase } from '../support/database.js';
import { KillableProcess } from '../support/processes.js';
import { HttpReceiver, type ReceivedRequest } from '../support/receivers.js';
import { rssMiB, sqlPool } from '../support/faults.js';
import { sleep, waitFor } from '../support/wait.js';
import { newId } from '../support/orm.js';

// docs/design.md §5: redirects are never followed, each attempt has a timeout and a response cap. A real
// webhooks process sends to receivers that hang, trickle, redirect, flood headers or answer
// 10 MB. The timeout is WEBHOOK_TIMEOUT_MS (default 10 s; 3 s here to keep the test short);
// the response cap is the UndiciWebhookSender default (64 KiB; no variable tunes it).

const TIMEOUT_MS = 3_000;
const CAP_BYTES = 64 * 1024;
/** Scheduling slack on top of the timeout (two cores shared by the test, PostgreSQL, Redis and the worker). */
const SLACK_MS = 2_500;
const TEN_MB = 10 * 1024 * 1024;
/** One attempt per delivery: a failed one is retried only in an hour. */
const SCHEDULE = '3600';

let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let connection: RedisConnection;
let queue: Queue;
let webhooks: KillableProcess;
const receivers: HttpReceiver[] = [];
const hung: ServerResponse[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = sqlPool(db.url);
  const prefix = uniquePrefix('receivers');
  connection = createRedisConnection({ url: REDIS_URL, role: 'producer' });
  queue = createQueue(QUEUES.webhooks, { connection, prefix });
  webhooks = new KillableProcess('webhooks', {
    DATABASE_URL: db.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
  });
  webhooks.start();
  await webhooks.started();
});
afterAll(async () => {
  await webhooks.stop();
  for (const res of hung.splice(0)) res.destroy();
  await Promise.all(receivers.map((r) => r.close()));
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await connection.quit();
  await pool.end();
  await db.drop();
});

/** A receiver that answers each request with `respond`, on the raw response. */
async function receiver(respond: (req: IncomingMessage, res: ServerResponse, request: ReceivedRequest) => void): Promise<HttpReceiver> {
  const started = await HttpReceiver.start((request, _index, { req, res }) => {
    respond(req, res, request);
    return 'answered';
  });
  receivers.push(started);
  return started;
}

async function endpoint(url: string): Promise<string> {
  const id = newId();
  await pool.query(
    `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at) values ($1, $2, '["*"]'::jsonb, $3, true, now())`,
    [id, url, generateWebhookSecret()],
  );
  return id;
}

/** `n` pending deliveries to the endpoint and their jobs, written the way the relay writes them. */
async function deliver(endpointId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const id = newId();
    const eventId = newId();
    const body = buildWebhookBody({ id: eventId, type: 'order.confirmed', occurredAt: new Date(), payload: { orderId: newId() } });
    await pool.query(
      `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at)
       values ($1, $2, $3, 'order.confirmed', $4, 'pending', 0, now())`,
      [id, endpointId, eventId, body],
    );
    ids.push(id);
  }
  await queue.addBulk(
    ids.map((id) => ({ name: WEBHOOK_JOB_NAME, data: { deliveryId: id }, opts: { ...webhookJobOptions([3600]), jobId: id } })),
  );
  return ids;
}

interface Attempt {
  delivery_id: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

async function attemptsOf(ids: string[], timeoutMs = TIMEOUT_MS + 20_000): Promise<Attempt[]> {
  return waitFor(
    async () => {
      const { rows } = await pool.query<Attempt>(
        'select delivery_id, status_code, duration_ms, error from webhook_delivery_attempts where delivery_id = any($1::uuid[])',
        [ids],
      );
      return rows.length >= ids.length && rows;
    },
    timeoutMs,
    `${ids.length} attempts recorded`,
  );
}

/**
 * Writes `total` bytes in `chunk`-sized pieces every `everyMs` (waiting for the socket to drain
 * in between), until done or the client goes away; then reports how much was written.
 */
function stream(res: ServerResponse, total: number, chunk: number, everyMs: number, done: (written: number, closedEarly: boolean) => void) {
  const piece = Buffer.alloc(chunk, 0x61);
  let written = 0;
  let closed = false;
  res.on('close', () => {
    if (!closed) {
      closed = true;
      done(written, written < total || !res.writableFinished);
    }
  });
  const tick = () => {
    if (closed || res.destroyed) return;
    if (written >= total) {
      res.end();
      return;
    }
    written += piece.length;
    // Respect backpressure, so `written` counts what the socket took, not what piled up here.
    if (res.write(piece)) setTimeout(tick, everyMs);
    else res.once('drain', () => setTimeout(tick, everyMs));
  };
  tick();
}

describe('webhooks process against misbehaving receivers', () => {
  it('honours its timeout, follows no redirect, reads at most the cap, and keeps its memory', { timeout: 90_000 }, async () => {
    const pid = webhooks.current?.child.pid;
    // Warm up: a well-behaved receiver, so the RSS baseline includes a worker that has sent.
    const fine = await receiver((_req, res) => res.writeHead(204).end());
    await attemptsOf(await deliver(await endpoint(fine.url), 20));
    await sleep(500);
    const rssBefore = rssMiB(pid);

    // A receiver that never answers, one that sends its headers then a byte every 200 ms.
    const closedAfter: number[] = [];
    const hangs = await receiver((req, res, request) => {
      hung.push(res);
      req.socket.on('close', () => closedAfter.push(Date.now() - request.receivedAt));
    });
    const trickleClosedAfter: number[] = [];
    const trickles = await receiver((req, res, request) => {
      hung.push(res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 200);
      req.socket.on('close', () => {
        clearInterval(timer);
        trickleClosedAfter.push(Date.now() - request.receivedAt);
      });
    });
    // Redirects to a receiver that must never be reached.
    const target = await receiver((_req, res) => res.writeHead(204).end());
    let redirectStatus = 302;
    const redirects = await receiver((_req, res) => {
      redirectStatus = redirectStatus === 302 ? 307 : 302;
      res.writeHead(redirectStatus, { location: target.url }).end();
    });
    // 10 MB bodies: slowly (so what was written before the sender hung up can be measured),
    // and at full speed with a 500 (the RSS figure, and the error snippet).
    const slowBigBody: { written: number; closedEarly: boolean }[] = [];
    const slowBig = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TEN_MB) });
      stream(res, TEN_MB, 16 * 1024, 5, (written, closedEarly) => slowBigBody.push({ written, closedEarly }));
    });
    const fastBigBody: { written: number; closedEarly: boolean }[] = [];
    const fastBig = await receiver((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain', 'content-length': String(TEN_MB) });
      stream(res, TEN_MB, 1024 * 1024, 0, (written, closedEarly) => fastBigBody.push({ written, closedEarly }));
    });

    // Headers that never end: 1 MiB of them.
    const headerFlood = await receiver((_req, res) => {
      res.writeHead(200, { 'x-flood': 'f'.repeat(1024 * 1024) }).end();
    });

    const hangIds = await deliver(await endpoint(hangs.url), 3);
    const floodIds = await deliver(await endpoint(headerFlood.url), 2);
    const trickleIds = await deliver(await endpoint(trickles.url), 3);
    const redirectIds = await deliver(await endpoint(redirects.url), 4);
    const slowBigIds = await deliver(await endpoint(slowBig.url), 3);
    const fastBigIds = await deliver(await endpoint(fastBig.url), 40);

    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMiB(pid));
    }, 100);
    const started = Date.now();
    const [hangAttempts, trickleAttempts, redirectAttempts, slowBigAttempts, fastBigAttempts, floodAttempts] = await Promise.all([
      attemptsOf(hangIds),
      attemptsOf(trickleIds),
      attemptsOf(redirectIds),
      attemptsOf(slowBigIds),
      attemptsOf(fastBigIds),
      attemptsOf(floodIds),
    ]).finally(() => clearInterval(sampler));
    const allAttemptedMs = Date.now() - started;
    await waitFor(async () => slowBigBody.length >= slowBigIds.length && fastBigBody.length >= fastBigIds.length, 10_000, 'big bodies closed');
    await sleep(1000);
    const rssAfter = rssMiB(pid);

    const max = (values: number[]) => Math.max(...values);
    const durations = (attempts: Attempt[]) => attempts.map((a) => a.duration_ms);
    const kib = (bytes: number) => Math.round(bytes / 1024);
    console.log(
      `[receiver-misbehaviour] hang: attempts=${hangAttempts.length} durationMs=[${durations(hangAttempts).join(',')}] ` +
        `receiverSawCloseAfterMs=[${closedAfter.join(',')}] errors=${JSON.stringify([...new Set(hangAttempts.map((a) => a.error))])}`,
    );
    console.log(
      `[receiver-misbehaviour] trickle: attempts=${trickleAttempts.length} durationMs=[${durations(trickleAttempts).join(',')}] ` +
        `receiverSawCloseAfterMs=[${trickleClosedAfter.join(',')}] outcomes=${JSON.stringify([...new Set(trickleAttempts.map((a) => `${a.status_code} ${a.error}`))])}`,
    );
    console.log(
      `[receiver-misbehaviour] redirect: attempts=${redirectAttempts.length} statuses=[${redirectAttempts.map((a) => a.status_code).join(',')}] ` +
        `targetRequests=${target.requests.length} error=${JSON.stringify(redirectAttempts[0]?.error)}`,
    );
    console.log(
      `[receiver-misbehaviour] 10MB slow 200: attempts=${slowBigAttempts.length} statuses=[${slowBigAttempts.map((a) => a.status_code).join(',')}] ` +
        `writtenBeforeCloseKiB=[${slowBigBody.map((b) => kib(b.written)).join(',')}] cap=${kib(CAP_BYTES)}KiB durationMs=[${durations(slowBigAttempts).join(',')}]`,
    );
    console.log(
      `[receiver-misbehaviour] 10MB fast 500: attempts=${fastBigAttempts.length} maxWrittenKiB=${kib(max(fastBigBody.map((b) => b.written)))} ` +
        `closedEarly=${fastBigBody.filter((b) => b.closedEarly).length}/${fastBigBody.length} maxErrorChars=${max(fastBigAttempts.map((a) => a.error?.length ?? 0))} ` +
        `maxDurationMs=${max(durations(fastBigAttempts))}`,
    );
    console.log(
      `[receiver-misbehaviour] 1 MiB of headers: attempts=${floodAttempts.length} ` +
        `outcomes=${JSON.stringify([...new Set(floodAttempts.map((a) => `${a.status_code} ${a.error}`))])}`,
    );
    console.log(
      `[receiver-misbehaviour] webhooks RSS before=${rssBefore}MiB peak=${rssPeak}MiB after=${rssAfter}MiB ` +
        `(${fastBigIds.length + slowBigIds.length} x 10 MB answers) allAttempted=${allAttemptedMs}ms`,
    );

    // Timeouts: an attempt that gets no answer, or a body that never ends, stops at the timeout.
    for (const attempt of hangAttempts) {
      expect(attempt.status_code).toBeNull();
      expect(attempt.error).toBe(`timed out after ${TIMEOUT_MS} ms`);
      expect(attempt.duration_ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(attempt.duration_ms).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
    }
    expect(closedAfter).toHaveLength(hangIds.length);
    for (const ms of [...closedAfter, ...trickleClosedAfter]) expect(ms).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
    expect(trickleClosedAfter).toHaveLength(trickleIds.length);
    for (const attempt of trickleAttempts) expect(attempt.duration_ms).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);

    // Redirects: a failed attempt naming the status, and the target never reached.
    for (const attempt of redirectAttempts) {
      expect([302, 307]).toContain(attempt.status_code);
      expect(attempt.error).toMatch(/^redirect 30[27] not followed/);
    }
    expect(target.requests).toHaveLength(0);

    // The cap: the sender hangs up long before 10 MB, on a 200 and on a 500 alike.
    for (const body of [...slowBigBody, ...fastBigBody]) expect(body.closedEarly).toBe(true);
    for (const body of slowBigBody) expect(body.written).toBeLessThan(2 * 1024 * 1024);
    for (const attempt of slowBigAttempts) expect(attempt).toMatchObject({ status_code: 200, error: null });
    for (const attempt of fastBigAttempts) {
      expect(attempt.status_code).toBe(500);
      expect(attempt.error?.length).toBeLessThanOrEqual(220);
    }
    for (const attempt of floodAttempts) {
      expect(attempt.status_code).toBeNull();
      expect(attempt.error).toMatch(/HEADERS_OVERFLOW|header/i);
    }
    // Memory: 430 MB of answers leave the worker's resident size where it was.
    expect(rssPeak - rssBefore).toBeLessThan(100);
    expect(rssAfter - rssBefore).toBeLessThan(50);
  });
});
