import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisConnection = Redis | Cluster;

export interface ConnectionOptions {
  /**
   * `redis://host:port[/db]`, or several comma-separated `redis://` URLs for a Redis Cluster
   * (its seed nodes). With a cluster, use a hash-tagged QUEUE_PREFIX such as `{conveyor}` so
   * every key of a queue lands on one slot.
   */
  url: string;
  /**
   * Workers block on Redis and must retry forever (BullMQ requires maxRetriesPerRequest null);
   * producers in the web process fail fast instead, so the API can answer 503.
   */
  role: 'worker' | 'producer';
  connectionName?: string;
}

export function createRedisConnection(options: ConnectionOptions): RedisConnection {
  const urls = options.url.split(',').map((part) => part.trim()).filter(Boolean);
  const common: RedisOptions = {
    maxRetriesPerRequest: options.role === 'worker' ? null : 1,
    enableOfflineQueue: options.role === 'worker',
    connectionName: options.connectionName,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  if (urls.length > 1) {
    return new Cluster(
      urls.map((url) => {
        const parsed = new URL(url);
        return { host: parsed.hostname, port: Number(parsed.port || 6379) };
      }),
      {
        redisOptions: { ...common, password: passwordOf(urls[0]) },
        enableOfflineQueue: common.enableOfflineQueue,
      },
    );
  }
  return new Redis(urls[0] ?? 'redis://127.0.0.1:6379', common);
}

function passwordOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const password = new URL(url).password;
  return password ? decodeURIComponent(password) : undefined;
}
