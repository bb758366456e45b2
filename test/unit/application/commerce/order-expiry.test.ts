import { describe, expect, it } from 'vitest';
import { expiryForEvent } from '../../../../src/application/commerce/order-expiry.js';
import { newId } from '../../support/ids.js';

const placedAt = new Date('2025-03-14T09:26:53.000Z');

describe('expiryForEvent', () => {
  it('schedules the expiry of a placed order the timeout after it was placed', () => {
    const orderId = newId();

    expect(expiryForEvent({ type: 'order.placed', aggregateId: orderId, occurredAt: placedAt }, 30 * 60_000)).toEqual({
      orderId,
      dueAt: new Date('2025-03-14T09:56:53.000Z'),
    });
  });

  it.each(['order.confirmed', 'order.cancelled', 'user.registered', 'product.added'])('schedules nothing for %s', (type) => {
    expect(expiryForEvent({ type, aggregateId: newId(), occurredAt: placedAt }, 30 * 60_000)).toBeNull();
  });

  it('schedules nothing when expiry is off (timeout 0)', () => {
    expect(expiryForEvent({ type: 'order.placed', aggregateId: newId(), occurredAt: placedAt }, 0)).toBeNull();
  });
});
