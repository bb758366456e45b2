import { describe, expect, it } from 'vitest';
import { emailsForEvent } from '../../../../src/application/email/policy.js';

const userId = '01936a5e-0000-7000-8000-000000000001';
const order = { orderId: '01936a5e-7c1d-7000-8000-00000000beef', userId };

describe('emailsForEvent', () => {
  it('welcomes a new user at the address they registered with', () => {
    expect(emailsForEvent({ type: 'user.registered', payload: { userId, email: 'ann@example.com', name: 'Ann' } })).toEqual([
      { template: 'welcome', to: { address: 'ann@example.com' } },
    ]);
  });

  it.each([
    ['order.placed', 'order_confirmation'],
    ['order.shipped', 'shipping_notice'],
    ['order.cancelled', 'cancellation_notice'],
  ])('sends %s to the user who placed the order as %s', (type, template) => {
    expect(emailsForEvent({ type, payload: order })).toEqual([{ template, to: { userId } }]);
  });

  it.each(['order.confirmed', 'order.delivered', 'product.added', 'product.restocked', 'nope', 'constructor', '__proto__'])(
    'sends nothing for %s',
    (type) => {
      expect(emailsForEvent({ type, payload: { ...order, email: 'ann@example.com' } })).toEqual([]);
    },
  );

  it('names no recipient when the event carries neither an address nor a user id', () => {
    expect(emailsForEvent({ type: 'order.placed', payload: { orderId: order.orderId } })).toEqual([
      { template: 'order_confirmation', to: null },
    ]);
    expect(emailsForEvent({ type: 'order.placed', payload: { orderId: order.orderId, userId: 42 } })).toEqual([
      { template: 'order_confirmation', to: null },
    ]);
  });

  it('returns a fresh list each time, so a caller cannot change what an event sends', () => {
    const event = { type: 'order.placed', payload: order };
    emailsForEvent(event).push({ template: 'welcome', to: null });
    expect(emailsForEvent(event)).toEqual([{ template: 'order_confirmation', to: { userId } }]);
  });
});
