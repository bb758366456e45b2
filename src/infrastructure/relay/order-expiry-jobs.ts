import { expiryForEvent, type ExpiringEvent } from '../../application/commerce/order-expiry.js';
import { commandJob, type CommandPayload } from '../../../queues/commands.js';
import { expireOrderCommandId } from '../queue/derived-ids.js';
import type { ScheduledCommandJob } from './outbox-relay.js';

/**
 * The ExpireOrder jobs an event schedules (src/application/commerce/order-expiry.ts decides
 * which and when): delayed until the order's deadline, at once if it has passed already. The
 * job id is the command id derived from the order id, so an event relayed twice adds one job,
 * and the job carries no `after` (expiry is ordered by time, not by the order's command chain).
 */
export function orderExpiryJobs(timeoutMs: number, now: () => number = Date.now) {
  return (event: ExpiringEvent): ScheduledCommandJob[] => {
    const expiry = expiryForEvent(event, timeoutMs);
    if (!expiry) return [];
    const data: CommandPayload<'ExpireOrder'> = { commandId: expireOrderCommandId(expiry.orderId), orderId: expiry.orderId };
    const job = commandJob('ExpireOrder', data);
    return [{ ...job, opts: { ...job.opts, delay: Math.max(0, expiry.dueAt.getTime() - now()) } }];
  };
}
