import { ALL_EVENT_TYPES } from './event-types.js';

/** What the policy needs to know of an endpoint. */
export interface Subscription {
  enabled: boolean;
  deletedAt: Date | null;
  /** Event types the endpoint subscribed to, or ["*"] for every type. */
  eventTypes: readonly string[];
}

/**
 * The endpoints that get an event of type `eventType` (the relay creates one delivery for
 * each): those that are enabled, not deleted, and subscribed to the type or to "*".
 */
export function endpointsForEvent<E extends Subscription>(eventType: string, endpoints: readonly E[]): E[] {
  return endpoints.filter(
    (endpoint) =>
      endpoint.enabled &&
      endpoint.deletedAt === null &&
      (endpoint.eventTypes.includes(eventType) || endpoint.eventTypes.includes(ALL_EVENT_TYPES)),
  );
}
