import { describe, expect, it } from 'vitest';
import * as domain from '../../../src/domain/index.js';
import { PROCESSOR_FAILURE_CODES, decodeFailure, encodeFailure } from '../../../queues/failure.js';

describe('failure-reason codec', () => {
  it.each([
    { code: 'insufficient_stock', message: 'product p has 1 in stock, 2 requested' },
    { code: 'invalid_payload', message: 'items.0.quantity, userId' },
    { code: 'smtp_rejected', message: '550 5.1.1 No such user here' },
    // The message is kept whole: separators and line breaks inside it are not parsed.
    { code: 'render_failed', message: 'order.placed: total: missing\nsecond line' },
    { code: 'order_not_found', message: '' },
  ])('reads back what it wrote: $code', (failure) => {
    expect(decodeFailure(encodeFailure(failure))).toEqual(failure);
  });

  it('writes the "code: message" reasons that jobs already in Redis carry', () => {
    expect(encodeFailure({ code: 'smtp_rejected', message: '550 no' })).toBe('smtp_rejected: 550 no');
    expect(decodeFailure('insufficient_stock: none left')).toEqual({ code: 'insufficient_stock', message: 'none left' });
  });

  it.each([
    'connection terminated',
    'Connection is closed.',
    'attempt failed: ECONNREFUSED',
    'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:5432',
    ': no code',
    '',
  ])('reads an error message of its own as no failure: %j', (reason) => {
    expect(decodeFailure(reason)).toBeNull();
  });

  it('refuses to write a code it could not read back', () => {
    expect(() => encodeFailure({ code: 'Not A Code', message: 'x' })).toThrow(TypeError);
    expect(() => encodeFailure({ code: 'a: b', message: 'x' })).toThrow(TypeError);
  });

  it('can write every code the processors and the domain errors use', () => {
    const domainCodes = [
      new domain.InvalidValueError('x').code,
      new domain.InsufficientStockError('p', 2, 1).code,
      new domain.InvalidTransitionError('shipped', 'cancel').code,
      new domain.EmailTakenError('a@example.com').code,
      new domain.SkuTakenError('SKU-1').code,
      new domain.NotFoundError('order', 'o').code,
      new domain.DuplicateIdError('order o exists').code,
      new domain.CurrencyMismatchError('EUR and USD').code,
    ];
    for (const code of [...PROCESSOR_FAILURE_CODES, ...domainCodes]) {
      expect(decodeFailure(encodeFailure({ code, message: 'm' }))).toEqual({ code, message: 'm' });
    }
  });
});
