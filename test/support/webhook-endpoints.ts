// What the webhook endpoint use cases and routes show of an endpoint (no I/O: the unit tests use it too).

/**
 * An endpoint as it is shown right after it was created: enabled, never failing, no previous
 * secret and no delivery rate of its own, with the given id, url, event types and createdAt.
 */
export function newEndpointView<T extends { id: unknown; url: unknown; eventTypes: unknown; createdAt: unknown }>(endpoint: T) {
  return {
    ...endpoint,
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    failingSince: null,
    previousSecretExpiresAt: null,
    deliveryRate: null,
  };
}
