import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { coalesceWrites } from '../net/coalesced-writes.js';

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
    const seeds = urls.map((url) => new URL(url));
    const cluster = new Cluster(
      seeds.map((url) => ({ host: hostOf(url), port: Number(url.port || 6379) })),
      {
        // The nodes the cluster discovers get the seed's credentials and TLS too: a rediss://
        // seed list must not fall back to plain TCP, nor an ACL user to `default`.
        redisOptions: { ...common, ...credentialsOf(seeds[0]) },
        enableOfflineQueue: common.enableOfflineQueue,
      },
    );
    cluster.on('+node', (node: Redis) => coalesceOnConnect(node));
    return cluster;
  }
  return coalesceOnConnect(new Redis(urls[0] ?? 'redis://127.0.0.1:6379', common));
}

/**
 * The commands `redis` is given in one turn of the event loop go out in one write (ADR 0021), from
 * each (re)connection's `connect` on: the handshake ioredis writes before it (AUTH, SELECT, CLIENT
 * SETNAME) is not joined, the offline queue it flushes after it is. `duplicate()` makes a Redis
 * without this listener, so the copies BullMQ makes for its blocking commands (a Worker's
 * BZPOPMIN, QueueEvents' XREAD) are not coalesced; they send one command at a time anyway.
 */
function coalesceOnConnect(redis: Redis): Redis {
  redis.on('connect', () => coalesceWrites(redis.stream));
  return redis;
}

// WHATWG URLs keep IPv6 hosts in brackets; ioredis wants the bare address.
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function credentialsOf(url: URL | undefined): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  if (!url) return {};
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
