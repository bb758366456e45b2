export type EventType =
  | 'user.registered'
  | 'product.added'
  | 'product.restocked'
  | 'order.placed'
  | 'order.confirmed'
  | 'order.shipped'
  | 'order.delivered'
  | 'order.cancelled';

export type AggregateType = 'user' | 'product' | 'order';

/** A fact that happened to an aggregate; payloads are plain JSON. */
export interface DomainEvent {
  readonly type: EventType;
  readonly aggregateType: AggregateType;
  readonly aggregateId: string;
  readonly occurredAt: Date;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * Aggregates record events; the unit of work drains them into outbox rows in the same
 * transaction as the state change. Nothing is published in-process.
 */
export abstract class AggregateRoot {
  // Not initialised in a field initialiser: the ORM hydrates loaded aggregates without
  // calling the constructor.
  private pendingEvents?: DomainEvent[];

  protected record(event: Omit<DomainEvent, 'aggregateId' | 'aggregateType'>): void {
    (this.pendingEvents ??= []).push({ ...event, aggregateType: this.aggregateType, aggregateId: this.id });
  }

  /** Returns and forgets the events recorded since the last call. */
  pullEvents(): DomainEvent[] {
    const events = this.pendingEvents ?? [];
    this.pendingEvents = [];
    return events;
  }

  abstract readonly id: string;
  protected abstract readonly aggregateType: AggregateType;
}
