import { QueueKeys } from 'bullmq';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { QUEUES } from '../../queues/names.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { RedisDeliveryRateLimiter, deliveryRateKeys, type DeliveryRateKeys } from '../../src/infrastructure/webhooks/redis-delivery-rate-limiter.js';
import { REDIS_URL } from '../support/config.js';
import { uniquePrefix } from '../support/redis-keys.js';

// The limiter's script on the real Redis: what it grants and what places it hands out, asked
// by several callers at once as several webhooks processes would.

const redis = createRedisConnection({ url: REDIS_URL, role: 'worker' });
let keys: DeliveryRateKeys;
let limiter: RedisDeliveryRateLimiter;

beforeEach(() => {
  const prefix = uniquePrefix('rate');
  keys = deliveryRateKeys((type) => new QueueKeys(prefix).toKey(QUEUES.webhooks, type));
  limiter = new RedisDeliveryRateLimiter(redis, keys);
});

afterAll(() => {
  redis.disconnect();
});

const ask = (deliveryId: string, perSecond: number, waited = false) =>
  limiter.acquire({ endpointId: 'ep', deliveryId, perSecond, waited });

describe('RedisDeliveryRateLimiter', () => {
  it('lets a burst of two through at 10/s and gives each of the others a place of its own, 100 ms apart', async () => {
    const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(`d${i}`, 10)));
    expect(waits.filter((wait) => wait === 0)).toHaveLength(2);
    const places = waits.filter((wait) => wait > 0).sort((a, b) => a - b);
    expect(places).toHaveLength(18);
    // The first place is one interval on; each next one an interval later (the calls themselves
    // take a few ms of Redis time, which the waits count down).
    places.forEach((wait, i) => {
      expect(wait).toBeGreaterThan(100 * (i + 1) - 50);
      expect(wait).toBeLessThanOrEqual(100 * (i + 1));
    });
    // Those waiting are listed (for a change of rate to wake them), those that went are not.
    const waiting = await redis.smembers(keys.waiting('ep'));
    expect(waiting).toHaveLength(18);
    expect(await redis.pttl(keys.state('ep'))).toBeGreaterThan(60_000);
  });

  it('lets a delivery that waited go when the bucket allows, ahead of those not yet in line', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) => ask(`d${i}`, 10)));
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The bucket has room again (one interval passed) but the line reaches a second ahead:
    // a delivery that waited its turn goes, a new one queues at the end.
    expect(await ask('d2', 10, true)).toBe(0);
    expect(await redis.sismember(keys.waiting('ep'), 'd2')).toBe(0);
    expect(await ask('new', 10)).toBeGreaterThan(800);
    // One that waited but whose turn the bucket has not reached yet takes a place at the end too.
    expect(await ask('d3', 10, true)).toBeGreaterThan(900);
  });

  it('starts a new line at a new rate, so the deliveries woken for it are not held to the old one', async () => {
    const atOnePerSecond = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(`d${i}`, 1)));
    expect(Math.max(...atOnePerSecond)).toBeGreaterThan(7000);
    const woken = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(`d${i}`, 100, true)));
    // At 100/s (interval 10 ms, a burst of 11) all of them go within a tenth of a second.
    expect(Math.max(...woken)).toBeLessThanOrEqual(100);
    expect(woken.filter((wait) => wait === 0).length).toBeGreaterThanOrEqual(9);
  });

  it('keeps each endpoint to itself', async () => {
    const first = await Promise.all(Array.from({ length: 5 }, (_, i) => limiter.acquire({ endpointId: 'a', deliveryId: `a${i}`, perSecond: 1, waited: false })));
    const other = await limiter.acquire({ endpointId: 'b', deliveryId: 'b0', perSecond: 1, waited: false });
    expect(first.filter((wait) => wait > 0)).toHaveLength(3);
    expect(other).toBe(0);
  });
});
