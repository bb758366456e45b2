import { describe, expect, it } from 'vitest';
import {
  CurrencyMismatchError,
  DomainError,
  DuplicateIdError,
  EmailTakenError,
  InsufficientStockError,
  InvalidTransitionError,
  InvalidValueError,
  NotFoundError,
  RecordedFailureError,
  SkuTakenError,
} from '../../../src/domain/index.js';

// The codes are a public contract: they appear in GET /v1/commands/:id and problem+json bodies.
describe('domain error codes', () => {
  it.each([
    [new InvalidValueError('x'), 'invalid_value', 'InvalidValueError'],
    [new InsufficientStockError('p', 2, 1), 'insufficient_stock', 'InsufficientStockError'],
    [new InvalidTransitionError('shipped', 'cancel'), 'invalid_transition', 'InvalidTransitionError'],
    [new CurrencyMismatchError('x'), 'currency_mismatch', 'CurrencyMismatchError'],
    [new EmailTakenError('ann@example.com'), 'email_taken', 'EmailTakenError'],
    [new SkuTakenError('SKU-1'), 'sku_taken', 'SkuTakenError'],
    [new NotFoundError('user', 'u'), 'user_not_found', 'NotFoundError'],
    [new NotFoundError('product', 'p'), 'product_not_found', 'NotFoundError'],
    [new NotFoundError('order', 'o'), 'order_not_found', 'NotFoundError'],
    [new DuplicateIdError('x'), 'duplicate_id', 'DuplicateIdError'],
  ])('%s has code %s', (error, code, name) => {
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
  });

  it('says what was missing and how much was asked for', () => {
    const error = new InsufficientStockError('p-1', 5, 2);

    expect(error).toMatchObject({ productId: 'p-1', requested: 5, available: 2 });
    expect(error.message).toBe('product p-1 has 2 in stock, 5 requested');
  });

  it('says which transition was refused', () => {
    const error = new InvalidTransitionError('delivered', 'cancel');

    expect(error).toMatchObject({ from: 'delivered', action: 'cancel' });
    expect(error.message).toBe('cannot cancel an order that is delivered');
  });

  it('replays a recorded failure with its original code and message', () => {
    const error = new RecordedFailureError('insufficient_stock', 'product p has 0 in stock, 1 requested');

    expect(error).toBeInstanceOf(DomainError);
    expect(error.code).toBe('insufficient_stock');
    expect(error.message).toBe('product p has 0 in stock, 1 requested');
  });
});
