import type { DeliveryRateLimiter } from '../../application/webhooks/ports.js';
import { deliveryIntervalMs, deliveryToleranceMs } from '../../application/webhooks/delivery-rate.js';
import type { RedisConnection } from '../redis/connection.js';

// Each endpoint's delivery rate, held in Redis so every webhooks process shares it
// (docs/adr/0013-webhook-delivery-rate.md). Two rules in one script, per endpoint:
// - the send itself is a GCRA (a token bucket kept as one timestamp, `tat`): a delivery may go
//   when `tat - tolerance <= now`, and moves `tat` one interval on. This is what bounds what
//   the receiver sees, however late or bunched the jobs run.
// - a delivery turned away takes the next free place in a line (`tail`, one interval apart)
//   and waits for it as a delayed job. Each waiting delivery gets a time of its own, so a
//   backlog wakes one at a time at the rate, not all at once at every free slot (which would
//   cost every waiting job a round per slot). A delivery that waited goes on when the bucket
//   lets it, ahead of those that have not queued yet; if it woke too late and the bucket is
//   full, it takes a new place at the end.
// The time is Redis's (TIME), one clock for every process. A new rate starts a new line
// (UpdateWebhookEndpoint wakes the deliveries waiting in the old one). The ids waiting are
// kept in a set, for that wake-up. Both keys expire a minute after the last reserved slot.

/**
 * KEYS[1] the endpoint's hash (interval, tat, tail; ms), KEYS[2] the set of its waiting delivery
 * ids. ARGV[1] interval ms, ARGV[2] tolerance ms, ARGV[3] '1' when the delivery waited before,
 * ARGV[4] the delivery id. Returns 0 (send now) or the ms to wait for the place reserved.
 */
const ACQUIRE_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'interval', 'tat', 'tail')
local tat = tonumber(state[2]) or now
local tail = tonumber(state[3]) or now
if tonumber(state[1]) ~= interval then
  tail = now
  tat = math.min(tat, now + interval)
end
local wait = 0
if tat - tolerance <= now and (ARGV[3] == '1' or tail <= now) then
  tat = math.max(tat, now) + interval
  redis.call('SREM', KEYS[2], ARGV[4])
else
  local slot = math.max(tail, tat - tolerance, now)
  tail = slot + interval
  wait = slot - now
  redis.call('SADD', KEYS[2], ARGV[4])
end
redis.call('HSET', KEYS[1], 'interval', interval, 'tat', tat, 'tail', tail)
local ttl = math.max(tat, tail) - now + 60000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return wait
`;

type WithAcquire = {
  conveyorAcquireDeliverySlot(
    stateKey: string,
    waitingKey: string,
    intervalMs: number,
    toleranceMs: number,
    waited: '0' | '1',
    deliveryId: string,
  ): Promise<number>;
};
const scripted = new WeakSet<RedisConnection>();

/**
 * The Redis keys of the delivery rates, under the `webhooks` queue's prefix (`toKey` of that
 * queue): on a cluster a hash-tagged QUEUE_PREFIX keeps both keys of an endpoint on one slot.
 */
export function deliveryRateKeys(toKey: (type: string) => string) {
  return {
    state: (endpointId: string) => toKey(`rate:${endpointId}`),
    waiting: (endpointId: string) => toKey(`rate-waiting:${endpointId}`),
  };
}

export type DeliveryRateKeys = ReturnType<typeof deliveryRateKeys>;

export class RedisDeliveryRateLimiter implements DeliveryRateLimiter {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: DeliveryRateKeys,
  ) {}

  async acquire(request: { endpointId: string; deliveryId: string; perSecond: number; waited: boolean }): Promise<number> {
    if (!scripted.has(this.redis)) {
      this.redis.defineCommand('conveyorAcquireDeliverySlot', { numberOfKeys: 2, lua: ACQUIRE_LUA });
      scripted.add(this.redis);
    }
    const wait = await (this.redis as unknown as WithAcquire).conveyorAcquireDeliverySlot(
      this.keys.state(request.endpointId),
      this.keys.waiting(request.endpointId),
      deliveryIntervalMs(request.perSecond),
      deliveryToleranceMs(request.perSecond),
      request.waited ? '1' : '0',
      request.deliveryId,
    );
    return Number(wait);
  }
}
