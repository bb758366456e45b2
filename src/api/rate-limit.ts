import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Principal } from '../application/access/principal.js';
import { problemResponses, problemType, sendProblem } from './problem.js';

/** The Redis the counters live in: the web process's producer connection (fail-fast). */
export type RateLimitRedis = Redis | Cluster;

/** Requests are counted per key in fixed windows of one minute. */
export const RATE_LIMIT_WINDOW_SECONDS = 60;

/** The policy's name in the RateLimit and RateLimit-Policy fields. */
const POLICY = 'per-key';

export interface RateLimitOptions {
  /** Requests per minute of a key without a limit of its own (RATE_LIMIT_PER_MINUTE). */
  defaultPerMinute: number;
  /**
   * Where the counters live, shared by every web process. Absent: counted in this process's
   * memory (@fastify/rate-limit's local store), which only the tests without Redis use.
   */
  redis?: RateLimitRedis | undefined;
  /** Prefix of the counters' keys, under QUEUE_PREFIX: `<QUEUE_PREFIX>:ratelimit:<keyId>`. */
  keyPrefix: string;
}

/** The requests per minute `principal` may make: its own limit, or the configured default. */
export function limitPerMinute(principal: Principal | null, defaultPerMinute: number): number {
  return principal?.rateLimitPerMinute ?? defaultPerMinute;
}

/**
 * Per-key request limits on every route of `scope` (/v1), checked after the bearer hook has set
 * `request.principal` (register this after adding that hook). @fastify/rate-limit counts in
 * Redis (one script call per request), so a key's limit holds across web replicas. Every
 * answer carries `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers);
 * a request over the limit gets 429 problem+json with Retry-After. When Redis does not answer
 * the request is let through and a warning logged: commands cannot be queued without Redis
 * anyway (503), and reads, served by PostgreSQL, stay available
 * (docs/adr/0012-rate-limits-and-load-shedding.md).
 */
export async function registerRateLimit(scope: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const { defaultPerMinute } = options;
  await scope.register(fastifyRateLimit, {
    // No hooks of the plugin's own: the hook below answers, in this API's problem format and
    // with the current draft's fields (the plugin writes the older RateLimit-Limit/-Remaining).
    global: false,
    ...(options.redis ? { redis: options.redis } : {}),
    nameSpace: options.keyPrefix,
    timeWindow: RATE_LIMIT_WINDOW_SECONDS * 1000,
    // The bearer hook ran first: there is always a principal here (the address is a fallback only).
    keyGenerator: (request) => request.principal?.keyId ?? `ip:${request.ip}`,
    max: (request) => limitPerMinute(request.principal, defaultPerMinute),
    // Errors come to the hook below, which lets the request through and says so in the log.
    skipOnError: false,
  });
  const count = scope.createRateLimit();

  // Every route documents the 429 (the OpenAPI document is generated from the schemas).
  scope.addHook('onRoute', (route) => {
    if (!route.schema) return;
    route.schema.response = { ...problemResponses(429), ...(route.schema.response as object | undefined) };
  });

  scope.addHook('onRequest', async (request, reply) => {
    let result: Awaited<ReturnType<typeof count>>;
    try {
      result = await count(request);
    } catch (error) {
      request.log.warn({ err: error }, 'request not rate-limited: the rate limit counters (Redis) are unavailable');
      return undefined;
    }
    if (result.isAllowed) return undefined; // no allow list is configured; kept for the type
    const resetSeconds = Math.max(result.ttlInSeconds, 0);
    void reply.header('ratelimit-policy', `"${POLICY}";q=${result.max};w=${RATE_LIMIT_WINDOW_SECONDS}`);
    void reply.header('ratelimit', `"${POLICY}";r=${result.remaining};t=${resetSeconds}`);
    if (!result.isExceeded) return undefined;
    const retryAfter = Math.max(resetSeconds, 1);
    return sendProblem(
      request,
      reply,
      {
        status: 429,
        type: problemType('rate-limited'),
        detail: `This API key may make ${result.max} requests a minute; retry in ${retryAfter} s.`,
        extensions: { limit: result.max, windowSeconds: RATE_LIMIT_WINDOW_SECONDS },
      },
      { 'retry-after': String(retryAfter) },
    );
  });
}
