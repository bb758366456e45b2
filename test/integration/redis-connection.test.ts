// createRedisConnection on a real Redis: what a process gives its connection in one turn of the
// event loop goes out in one write system call (docs/adr/0021-coalesced-redis-writes.md), in the
// order it was given, and each command still gets its own answer.
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { REDIS_URL } from '../support/config.js';
import { countWrites } from '../support/net.js';
import { uniquePrefix } from '../support/redis-keys.js';

const open: Redis[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((redis) => redis.quit().catch(() => undefined)));
});

async function connect(role: 'producer' | 'worker'): Promise<Redis> {
  const redis = createRedisConnection({ url: REDIS_URL, role }) as Redis;
  open.push(redis);
  if (redis.status !== 'ready') await once(redis, 'ready');
  return redis;
}

describe('a Redis connection', () => {
  it('sends the commands given in one turn in one write, in order, each with its own answer', async () => {
    const redis = await connect('producer');
    const key = `${uniquePrefix('coalesce')}:n`;
    const writes = countWrites(redis.stream);

    const answers = await Promise.all([
      redis.set(key, '1'),
      redis.incr(key),
      redis.get(key),
      redis.multi().incr(key).get(key).exec(),
      redis.del(key),
    ]);

    expect(answers).toEqual(['OK', 2, '2', [[null, 3], [null, '3']], 1]);
    expect(writes.count).toBe(1);
  });

  it('holds a command only until the end of its turn, then sends it', async () => {
    const redis = await connect('worker');
    const writes = countWrites(redis.stream);
    const answer = redis.ping();
    // Still in the turn that gave it: held.
    expect(writes.count).toBe(0);
    // Immediates run in order, and the connection's flush was scheduled before this one.
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.count).toBe(1);
    expect(redis.stream.writableLength).toBe(0);
    expect(await answer).toBe('PONG');
  });

  it('delivers what a turn held when the connection is closed in that turn', async () => {
    const redis = await connect('producer');
    const key = `${uniquePrefix('coalesce-quit')}:k`;
    const set = redis.set(key, 'kept');
    await redis.quit();
    expect(await set).toBe('OK');
    const other = await connect('producer');
    expect(await other.get(key)).toBe('kept');
    await other.del(key);
  });

  it('joins the writes of a new socket after a reconnection too', async () => {
    const redis = await connect('worker');
    const first = redis.stream;
    redis.disconnect(true);
    await once(redis, 'ready');
    expect(redis.stream).not.toBe(first);
    const writes = countWrites(redis.stream);
    expect(await Promise.all([redis.ping(), redis.ping('a'), redis.ping('b')])).toEqual(['PONG', 'a', 'b']);
    expect(writes.count).toBe(1);
  });

  it('adds the jobs a producer adds in one turn with one write', async () => {
    const redis = await connect('producer');
    const queue = new Queue('commands', { connection: redis, prefix: uniquePrefix('coalesce-queue') });
    try {
      // The first add loads BullMQ's script on this connection.
      await queue.add('Warm', {}, { jobId: 'warm' });
      const writes = countWrites(redis.stream);
      const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => queue.add('Job', { i }, { jobId: `job-${i}` })));
      const addWrites = writes.count;
      expect(jobs.map((job) => job.id)).toEqual(Array.from({ length: 20 }, (_, i) => `job-${i}`));
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 21 });
      expect(addWrites).toBe(1);
    } finally {
      await queue.close();
    }
  });
});
