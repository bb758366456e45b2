import { describe, expect, it } from 'vitest';
import { InvalidValueError, MAX_QUANTITY, Quantity } from '../../../src/domain/index.js';
import { domainErrorOf } from '../support/errors.js';

describe('Quantity.of', () => {
  it('is a million units at most', () => {
    expect(MAX_QUANTITY).toBe(1_000_000);
  });

  it.each([1, 2, 999, MAX_QUANTITY])('accepts %i', (value) => {
    expect(Quantity.of(value).value).toBe(value);
  });

  it.each([0, -1, 1.5, 0.999, MAX_QUANTITY + 1, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER])(
    'rejects %s',
    (value) => {
      const error = domainErrorOf(() => Quantity.of(value));

      expect(error).toBeInstanceOf(InvalidValueError);
      expect(error.code).toBe('invalid_value');
    },
  );
});
