import type { Cluster, Redis } from 'ioredis';

export interface RedisIdempotencyStoreOptions {
  /** `config.queuePrefix`; keys are `<prefix>:idem:<key>`, so a hash-tagged prefix keeps them on one cluster slot. */
  prefix: string;
}

// SET NX and GET in one step: either this call stored the value, or it learns what is there.
const PUT_IF_ABSENT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`;


/**
 * Idempotency records in Redis. Values are opaque strings: the API decides what they mean.
 * Every operation is a single atomic command or script, so two concurrent requests with the
 * same key cannot both reserve it.
 */
export class RedisIdempotencyStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis | Cluster,
    options: RedisIdempotencyStoreOptions,
  ) {
    this.prefix = `${options.prefix}:idem:`;
  }

  async putIfAbsent(key: string, value: string, ttlSeconds: number): Promise<string | null> {
    const existing = (await this.redis.eval(PUT_IF_ABSENT, 1, this.prefix + key, value, ttlSeconds)) as
      | string
      | null;
    return existing ?? null;
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }

  async put(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'EX', ttlSeconds);
  }
}
