import { beforeEach, expect } from 'vitest';
import type { AggregateType, EventType } from '../../../src/domain/events.js';
import type { DomainError } from '../../../src/domain/index.js';
import { FixedClock } from '../fakes/fixed-clock.js';
import { InMemoryUnitOfWork, type OutboxMessage } from '../fakes/in-memory-unit-of-work.js';
import { domainRejectionOf } from './errors.js';

/** What every use case has: one input, one answer. */
interface UseCase {
  execute(input: never): Promise<unknown>;
}

export interface UseCaseUnderTest<T extends UseCase> {
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
  /** Runs the use case on `input`, expects it refused with `code` and no outbox row written; answers the error. */
  refusal(input: Parameters<T['execute']>[0], code: string): Promise<DomainError>;
  /** Runs the use case on `input` twice, as on a redelivery; expects the same answer both times and answers it. */
  executedTwice(input: Parameters<T['execute']>[0]): Promise<Awaited<ReturnType<T['execute']>>>;
}

/** The set-up every commerce use case test shares: a fixed clock, and before each test a fresh in-memory unit of work and the use case over it. */
export function useCaseUnderTest<T extends UseCase>(build: (uow: InMemoryUnitOfWork, clock: FixedClock) => T): UseCaseUnderTest<T> {
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
    refusal: async (input, code) => {
      const error = await domainRejectionOf(subject.useCase.execute(input));
      expect(error.code).toBe(code);
      expect(subject.uow.outbox).toEqual([]);
      return error;
    },
    executedTwice: async (input) => {
      const first = await subject.useCase.execute(input);
      const again = await subject.useCase.execute(input);
      expect(again).toEqual(first);
      return again as Awaited<ReturnType<T['execute']>>;
    },
  } as UseCaseUnderTest<T>;
  beforeEach(() => {
    subject.uow = new InMemoryUnitOfWork();
    subject.useCase = build(subject.uow, clock);
  });
  return subject;
}
