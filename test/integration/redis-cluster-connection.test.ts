// createRedisConnection with several seed URLs: a real Redis Cluster whose nodes only let an
// ACL user in, so the login in REDIS_URL must reach every node the client discovers.
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { countWrites } from '../support/net.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ user: { name: 'conveyor', password: 'p@ss:word/1' } });
});
afterAll(async () => {
  await cluster?.stop();
});

async function ready(redis: Cluster): Promise<Cluster> {
  if (redis.status !== 'ready') {
    const error = once(redis, 'error').then(([reason]: unknown[]) => Promise.reject(reason as Error));
    await Promise.race([once(redis, 'ready'), error]);
  }
  return redis;
}

describe('createRedisConnection on a Redis Cluster', () => {
  it('logs in to every master as the ACL user of the URLs and routes keys by slot', async () => {
    expect(cluster.url).toMatch(/^redis:\/\/conveyor:/);
    const redis = await ready(createRedisConnection({ url: cluster.url, role: 'producer' }) as Cluster);
    try {
      expect(redis.nodes('master')).toHaveLength(3);
      const whoami = await Promise.all(redis.nodes('master').map((node) => node.call('ACL', 'WHOAMI')));
      expect(whoami).toEqual(['conveyor', 'conveyor', 'conveyor']);
      // Keys on every node: without the login on discovered nodes some of these would fail.
      const keys = Array.from({ length: 30 }, (_, i) => `conn-test-${i}`);
      await Promise.all(keys.map((key, i) => redis.set(key, String(i))));
      expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual(keys.map((_, i) => String(i)));
      const slotsOwners = new Set(
        await Promise.all(keys.map(async (key) => redis.slots[Number(await redis.cluster('KEYSLOT', key))]?.[0])),
      );
      expect(slotsOwners.size).toBe(3);
    } finally {
      await redis.quit();
    }
  });

  it('serves a BullMQ queue on a hash-tagged prefix over a worker connection', async () => {
    const connection = await ready(createRedisConnection({ url: cluster.url, role: 'worker' }) as Cluster);
    const queue = new Queue('commands', { connection, prefix: '{conn-test}' });
    try {
      const job = await queue.add('Ping', { n: 1 }, { jobId: 'ping-1' });
      expect(job.id).toBe('ping-1');
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    } finally {
      await queue.close();
      await connection.quit();
    }
  });

  it('sends the commands one node is given in one turn in one write (ADR 0021)', async () => {
    const redis = await ready(createRedisConnection({ url: cluster.url, role: 'producer' }) as Cluster);
    try {
      // Keys of one hash slot, so they go to one node; the first command finds which.
      const keys = ['{conn-write}a', '{conn-write}b', '{conn-write}c'];
      await redis.del(...keys);
      const slot = Number(await redis.cluster('KEYSLOT', keys[0]!));
      const owner = redis.slots[slot]![0]!;
      const node = redis.nodes('master').find((each: Redis) => `${each.options.host}:${each.options.port}` === owner)!;
      const writes = countWrites(node.stream);
      expect(await Promise.all([redis.set(keys[0]!, '1'), redis.set(keys[1]!, '2'), redis.incr(keys[0]!), redis.del(...keys)])).toEqual([
        'OK',
        'OK',
        2,
        2,
      ]);
      expect(writes.count).toBe(1);
    } finally {
      await redis.quit();
    }
  });

  it('keeps TLS, user and password of rediss:// seed URLs for the nodes it discovers', () => {
    const redis = createRedisConnection({
      url: 'rediss://ops:s%40cret@127.0.0.1:1,rediss://ops:s%40cret@[::1]:2',
      role: 'producer',
    }) as Cluster;
    try {
      // ioredis keeps the seed list private; it is what the client dials first.
      expect(Reflect.get(redis, 'startupNodes')).toEqual([
        { host: '127.0.0.1', port: 1 },
        { host: '::1', port: 2 },
      ]);
      expect(redis.options.redisOptions).toMatchObject({ username: 'ops', password: 's@cret', tls: {} });
    } finally {
      redis.disconnect();
    }
  });
});
