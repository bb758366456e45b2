import { describe, expect, it } from 'vitest';
import { endpointsForEvent } from '../../../../src/application/webhooks/policy.js';

const endpoint = (id: string, eventTypes: string[], overrides: { enabled?: boolean; deletedAt?: Date | null } = {}) => ({
  id,
  eventTypes,
  enabled: true,
  deletedAt: null,
  ...overrides,
});

describe('endpointsForEvent', () => {
  const endpoints = [
    endpoint('placed', ['order.placed']),
    endpoint('all', ['*']),
    endpoint('shipped', ['order.shipped', 'order.delivered']),
    endpoint('disabled', ['order.placed'], { enabled: false }),
    endpoint('deleted', ['*'], { deletedAt: new Date('2026-03-01T12:00:00Z') }),
  ];
  const ids = (type: string) => endpointsForEvent(type, endpoints).map((e) => e.id);

  it('gives an event to the enabled endpoints subscribed to its type or to "*"', () => {
    expect(ids('order.placed')).toEqual(['placed', 'all']);
    expect(ids('order.delivered')).toEqual(['all', 'shipped']);
    expect(ids('user.registered')).toEqual(['all']);
  });

  it('never gives an event to a disabled or deleted endpoint', () => {
    for (const type of ['order.placed', 'order.shipped', 'product.added']) {
      expect(ids(type)).not.toContain('disabled');
      expect(ids(type)).not.toContain('deleted');
    }
  });

  it('gives nothing when no endpoint is subscribed', () => {
    expect(endpointsForEvent('order.placed', [endpoint('shipped', ['order.shipped'])])).toEqual([]);
    expect(endpointsForEvent('order.placed', [])).toEqual([]);
  });
});
