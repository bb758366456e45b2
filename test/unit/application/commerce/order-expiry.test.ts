import { describe, expect, it } from 'vitest';
import { expiryCutoff } from '../../../../src/application/commerce/order-expiry.js';

describe('expiryCutoff', () => {
  it('makes an order overdue the timeout after it was placed', () => {
    expect(expiryCutoff(new Date('2025-03-14T09:56:53.000Z'), 30 * 60_000)).toEqual(new Date('2025-03-14T09:26:53.000Z'));
  });

  it('makes no order overdue when expiry is off (timeout 0)', () => {
    expect(expiryCutoff(new Date('2025-03-14T09:56:53.000Z'), 0)).toBeNull();
  });
});
