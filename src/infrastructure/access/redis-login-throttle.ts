import type { Cluster, Redis } from 'ioredis';

export interface RedisLoginThrottleOptions {
  /** `config.queuePrefix`; keys are `<prefix>:board-login-failures:<client>`. */
  prefix: string;
  /** Failed logins a client may make in one window (ADMIN_LOGIN_MAX_FAILURES). */
  maxFailures: number;
  /** Length of the window in ms, counted from the client's first failure (ADMIN_LOGIN_WINDOW). */
  windowMs: number;
}

// Returns the count after this failure and the ms left in the window. The window starts at the
// first failure and is never extended: a client is refused for the rest of it, then starts over.
// A key left without a TTL (it cannot happen through this script) gets one, so nobody is locked
// out for good.
const RECORD_FAILURE = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

const BLOCKED_FOR = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count < tonumber(ARGV[1]) then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then return tonumber(ARGV[2]) end
if ttl < 0 then return 0 end
return ttl`;

function seconds(ms: number): number {
  return ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 0;
}

/**
 * Failed Bull Board logins per client in Redis, so the limit holds across web replicas. Each
 * failure is one atomic INCR, so a burst of parallel guesses cannot slip past the limit: the
 * failure that makes the count exceed it is refused, whatever the timing.
 */
export class RedisLoginThrottle {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly options: RedisLoginThrottleOptions,
  ) {
    this.prefix = `${options.prefix}:board-login-failures:`;
  }

  async blockedFor(client: string): Promise<number> {
    const ms = (await this.redis.eval(BLOCKED_FOR, 1, this.prefix + client, this.options.maxFailures, this.options.windowMs)) as number;
    return seconds(ms);
  }

  async recordFailure(client: string): Promise<number> {
    const [count, ttl] = (await this.redis.eval(RECORD_FAILURE, 1, this.prefix + client, this.options.windowMs)) as [number, number];
    return count > this.options.maxFailures ? seconds(ttl) : 0;
  }
}
