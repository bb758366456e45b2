import type { EventType } from '../../domain/index.js';

/** Every event type a webhook endpoint can subscribe to (docs/design.md §4). */
export const WEBHOOK_EVENT_TYPES = [
  'user.registered',
  'product.added',
  'product.restocked',
  'order.placed',
  'order.confirmed',
  'order.shipped',
  'order.delivered',
  'order.cancelled',
] as const satisfies readonly EventType[];

/**
 * The type of the event POST /v1/webhook-endpoints/:id/test sends: to that endpoint only,
 * whatever it subscribed to; it cannot be subscribed to.
 */
export const TEST_EVENT_TYPE = 'webhook.test';

/** Subscribes an endpoint to every event type, including ones added later. */
export const ALL_EVENT_TYPES = '*';

// Fails to compile when the domain gains an event type that is missing above.
type Unlisted = Exclude<EventType, (typeof WEBHOOK_EVENT_TYPES)[number]>;
const everyEventTypeListed: [Unlisted] extends [never] ? true : never = true;
void everyEventTypeListed;

export function isWebhookEventType(value: string): value is EventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}
