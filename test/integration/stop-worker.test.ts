import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { stopWorker } from '../../src/main/roles/queue-worker.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { REDIS_URL } from '../support/config.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { waitFor } from '../support/wait.js';

const connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
afterAll(() => connection.quit());

describe('stopWorker', () => {
  it('stops waiting for a job that never ends once the grace period is over', async () => {
    const prefix = uniquePrefix('stop');
    const queue = new Queue('hang', { connection, prefix });
    const worker = new Worker('hang', () => new Promise(() => undefined), { connection, prefix });
    try {
      await queue.add('forever', {});
      await waitFor(async () => (await queue.getActiveCount()) === 1, 10_000, 'the job to start');
      const started = Date.now();
      expect(await stopWorker(worker, 300)).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await queue.close();
    }
  });

  it('reports closed when the active jobs finish in time', async () => {
    const prefix = uniquePrefix('stop');
    const queue = new Queue('quick', { connection, prefix });
    const worker = new Worker('quick', () => new Promise((resolve) => setTimeout(resolve, 200)), { connection, prefix });
    try {
      await queue.add('short', {});
      await waitFor(async () => (await queue.getActiveCount()) === 1, 10_000, 'the job to start');
      expect(await stopWorker(worker, 5000)).toBe('closed');
      expect(await queue.getCompletedCount()).toBe(1);
    } finally {
      await queue.close();
    }
  });
});
