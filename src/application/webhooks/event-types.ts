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

/** Subscribes an endpoint to every event type, including ones added later. */
export const ALL_EVENT_TYPES = '*';

// Fails to compile when the domain gains an event type that is missing above.
type Unlisted = Exclude<EventType, (typeof WEBHOOK_EVENT_TYPES)[number]>;
const everyEventTypeListed: [Unlisted] extends [never] ? true : never = true;
void everyEventTypeListed;

export function isWebhookEventType(value: string): value is EventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * Whether an endpoint receives an event: it is enabled, not deleted, and subscribed to the
 * event's type or to "*". The relay selects endpoints with the same rule in SQL
 * (`MATCHING_ENDPOINTS_SQL` in src/infrastructure/webhooks/matching.ts).
 */
export function endpointMatches(
  endpoint: { enabled: boolean; deletedAt: Date | null; eventTypes: readonly string[] },
  eventType: string,
): boolean {
  return (
    endpoint.enabled &&
    endpoint.deletedAt === null &&
    (endpoint.eventTypes.includes(eventType) || endpoint.eventTypes.includes(ALL_EVENT_TYPES))
  );
}
