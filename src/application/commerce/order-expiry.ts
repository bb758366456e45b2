/** What the policy needs to know of an outbox event. */
export interface ExpiringEvent {
  type: string;
  aggregateId: string;
  occurredAt: Date;
}

export interface OrderExpiry {
  orderId: string;
  /** When the ExpireOrder command is due. */
  dueAt: Date;
}

/**
 * The expiry an event schedules (the relay adds the ExpireOrder command, delayed until `dueAt`):
 *  - `order.placed` schedules the expiry of its order `timeoutMs` after it was placed (the
 *    event's time, not the relay's: a relay that was down does not push the deadline back);
 *  - no other event schedules one, and none at all when `timeoutMs` is 0 (expiry off).
 * Whether the order is still pending is decided when the command runs (`Order.expire`).
 */
export function expiryForEvent(event: ExpiringEvent, timeoutMs: number): OrderExpiry | null {
  if (event.type !== 'order.placed' || timeoutMs <= 0) return null;
  return { orderId: event.aggregateId, dueAt: new Date(event.occurredAt.getTime() + timeoutMs) };
}
