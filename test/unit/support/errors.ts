import { expect } from 'vitest';
import { DomainError } from '../../../src/domain/index.js';

/** Runs `fn`, asserts that it threw a DomainError and returns it for further checks. */
export function domainErrorOf(fn: () => unknown): DomainError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a DomainError to be thrown').toBeInstanceOf(DomainError);
  return caught as DomainError;
}

/** Awaits `promise`, asserts that it rejected with a DomainError and returns it. */
export async function domainRejectionOf(promise: Promise<unknown>): Promise<DomainError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a DomainError rejection').toBeInstanceOf(DomainError);
  return caught as DomainError;
}
