import { Redis } from 'ioredis';

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key under `prefix:` (a phase's queues and idempotency records). */
export function deletePrefix(prefix: string): Promise<number> {
  return deleteMatching(`${prefix}:*`);
}

/** Deletes every key whose name matches the glob `pattern` (SCAN's MATCH). */
export async function deleteMatching(pattern: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export async function redisVersion(): Promise<string> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

/**
 * CPU seconds the Redis server has used (INFO cpu: main thread and children). Redis is shared
 * with whatever else uses it, so a difference over a run is an upper bound of the run's share.
 */
export async function redisCpuSeconds(): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    return field('used_cpu_sys') + field('used_cpu_user');
  } finally {
    redis.disconnect();
  }
}

/**
 * Calls of each command the Redis server has run since its start or its last CONFIG RESETSTAT
 * (INFO commandstats), by lower-case name: a difference over a run counts the commands sent in
 * it, by every client of the server (an upper bound of the run's share, as the CPU above).
 */
export async function redisCommandCalls(): Promise<Map<string, number>> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('commandstats');
    const calls = new Map<string, number>();
    for (const [, name = '', count = '0'] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(name.toLowerCase(), Number(count));
    return calls;
  } finally {
    redis.disconnect();
  }
}
