// The ceiling on queued commands (MAX_QUEUED_COMMANDS, docs/adr/0012-rate-limits-and-load-shedding.md):
// above it the command routes answer 503 with Retry-After; once workers drain the queue, 202 again.
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUEUES } from '../../../queues/index.js';
import { QUEUE_DEPTH_REFRESH_MS } from '../../../src/api/load-shedding.js';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import { REDIS_URL } from '../../support/config.js';
import { type TestApi, auth, expectProblem, startApi } from '../../support/in-process-api.js';
import { uniquePrefix } from '../../support/redis-keys.js';
import { sleep } from '../../support/wait.js';

const MAX = 3;
let api: TestApi;

beforeAll(async () => {
  api = await startApi({}, uniquePrefix('ceiling'), { MAX_QUEUED_COMMANDS: String(MAX) });
});
afterAll(async () => {
  await api?.close();
});

function register(headers: Record<string, string> = {}) {
  return api.app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: { ...auth, ...headers },
    payload: { email: 'ann@example.com', name: 'Ann' },
  });
}

/** Long enough for every web process to have counted the queue again. */
const recount = () => sleep(QUEUE_DEPTH_REFRESH_MS + 50);

describe('MAX_QUEUED_COMMANDS', () => {
  test('at the ceiling intake answers 503 with Retry-After and queues nothing; drained back under it, 202 again', async () => {
    // Scheduled commands (Run-At: delayed jobs) hold memory in Redis too, and count.
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    expect((await register({ 'run-at': runAt })).statusCode).toBe(202);
    for (let i = 1; i < MAX; i += 1) expect((await register()).statusCode).toBe(202);
    await recount();

    const refused = await register();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(expectProblem(refused)).toMatchObject({ type: 'urn:conveyor:problem:queue-full', status: 503, title: 'Service Unavailable' });
    // The other command routes too, and with an Idempotency-Key nothing is reserved: a retry later is a first try.
    const keyed = await register({ 'idempotency-key': 'ceiling-1' });
    expect(keyed.statusCode).toBe(503);
    expect(await api.commands.getJobCountByTypes('waiting', 'delayed')).toBe(MAX);
    // Reads are not shed.
    const read = await api.app.inject({ method: 'GET', url: '/v1/products/01930000-0000-7000-8000-00000000bbbb', headers: auth });
    expect(read.statusCode).toBe(404);

    // A worker drains the queue (the scheduled command stays delayed: it still counts).
    const connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
    const worker = new Worker(QUEUES.commands, async () => undefined, { connection, prefix: api.prefix });
    try {
      const drained = Date.now();
      while ((await api.commands.getJobCountByTypes('waiting', 'active')) > 0) {
        if (Date.now() - drained > 10_000) throw new Error('the worker did not drain the queue');
        await sleep(50);
      }
    } finally {
      await worker.close();
      await connection.quit();
    }
    await recount();

    const accepted = await register({ 'idempotency-key': 'ceiling-1' });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.headers['idempotent-replayed']).toBeUndefined();
    expect(await api.commands.getJobCountByTypes('waiting', 'delayed')).toBe(2);
  });
});
