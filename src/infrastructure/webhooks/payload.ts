/** What the relay knows of an outbox event when it creates a delivery. */
export interface WebhookEvent {
  id: string;
  type: string;
  occurredAt: Date;
  payload: Readonly<Record<string, unknown>>;
}

/**
 * The body of every delivery of an event, in the Standard Webhooks shape:
 * `{"type":"order.placed","timestamp":"2026-…Z","data":{…payload, "eventId":"…"}}`.
 * The relay stores this exact string in `webhook_deliveries.body` when it creates the row, so
 * every attempt (and a replay) signs and sends the same bytes. `data.eventId` lets a receiver
 * that subscribes several endpoints to one event recognise it (each delivery has its own
 * `webhook-id`).
 */
export function buildWebhookBody(event: WebhookEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    data: { ...event.payload, eventId: event.id },
  });
}
