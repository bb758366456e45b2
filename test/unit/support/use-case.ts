import { beforeEach } from 'vitest';
import type { AggregateType, EventType } from '../../../src/domain/events.js';
import { FixedClock } from '../fakes/fixed-clock.js';
import { InMemoryUnitOfWork, type OutboxMessage } from '../fakes/in-memory-unit-of-work.js';

export interface UseCaseUnderTest<T> {
  /** One clock for the whole describe block: a test that advances it moves it for the next ones too. */
  readonly clock: FixedClock;
  /** A fresh, empty unit of work before each test. */
  uow: InMemoryUnitOfWork;
  /** The use case, built anew over that unit of work before each test. */
  useCase: T;
  /**
   * The outbox row of event `type` (`<aggregate type>.<what happened>`) on `aggregateId`, as
   * command `commandId` writes it at the clock's now.
   */
  outboxRow(type: EventType, aggregateId: string, commandId: string, payload: OutboxMessage['payload']): OutboxMessage;
}

/** The set-up every commerce use case test shares: a fixed clock, and before each test a fresh in-memory unit of work and the use case over it. */
export function useCaseUnderTest<T>(build: (uow: InMemoryUnitOfWork, clock: FixedClock) => T): UseCaseUnderTest<T> {
  const clock = new FixedClock('2025-03-14T09:26:53.000Z');
  const subject = {
    clock,
    outboxRow: (type, aggregateId, commandId, payload) => ({
      type,
      aggregateType: type.slice(0, type.indexOf('.')) as AggregateType,
      aggregateId,
      occurredAt: clock.now(),
      commandId,
      payload,
    }),
  } as UseCaseUnderTest<T>;
  beforeEach(() => {
    subject.uow = new InMemoryUnitOfWork();
    subject.useCase = build(subject.uow, clock);
  });
  return subject;
}
