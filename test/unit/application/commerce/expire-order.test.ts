import { describe, expect, it } from 'vitest';
import { ExpireOrder } from '../../../../src/application/commerce/use-cases/expire-order.js';
import type { OrderStatus } from '../../../../src/domain/index.js';
import { useCaseUnderTest } from '../../support/use-case.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { storedOrderIn } from '../../support/orders.js';

describe('ExpireOrder', () => {
  const t = useCaseUnderTest((uow, clock) => new ExpireOrder(uow, clock));

  it('cancels a pending order as not confirmed in time, gives its stock back and writes order.cancelled', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'pending');
    const commandId = newId();
    t.clock.advance(30 * 60_000);

    const output = await t.useCase.execute({ commandId, orderId: fixture.orderId });

    expect(output).toEqual({ orderId: fixture.orderId, status: 'cancelled', expired: true });
    const stored = t.uow.storedOrder(fixture.orderId);
    expect(stored?.status).toBe('cancelled');
    expect(stored?.cancellationReason).toBe('not confirmed in time');
    expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(10);
    const rows = fixture.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: 'order.cancelled',
      aggregateId: fixture.orderId,
      occurredAt: t.clock.now(),
      commandId,
      payload: { orderId: fixture.orderId, status: 'cancelled', reason: 'not confirmed in time' },
    });
    expect(t.uow.processed(commandId)).toMatchObject({ commandType: 'ExpireOrder', status: 'succeeded' });
  });

  it.each<OrderStatus>(['confirmed', 'shipped', 'delivered', 'cancelled'])(
    'succeeds without changing a %s order',
    async (status) => {
      const fixture = await storedOrderIn(t.uow, t.clock, status);
      const before = t.uow.storedOrder(fixture.orderId);
      const stockBefore = t.uow.storedProduct(fixture.productId)?.stock;
      const commandId = newId();

      const output = await t.useCase.execute({ commandId, orderId: fixture.orderId });

      expect(output).toEqual({ orderId: fixture.orderId, status, expired: false });
      expect(t.uow.storedOrder(fixture.orderId)?.status).toBe(status);
      expect(t.uow.storedOrder(fixture.orderId)?.cancellationReason).toBe(before?.cancellationReason);
      expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(stockBefore);
      expect(fixture.newOutboxRows()).toEqual([]);
      expect(t.uow.processed(commandId)).toMatchObject({ commandType: 'ExpireOrder', status: 'succeeded' });
    },
  );

  it('gives stock back once when the same expiry is delivered twice, and answers the same', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'pending');
    const command = { commandId: newId(), orderId: fixture.orderId };

    const again = await t.executedTwice(command);

    expect(again.expired).toBe(true);
    expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(10);
    expect(fixture.newOutboxRows()).toHaveLength(1);
  });

  it('refuses an unknown order with order_not_found', async () => {
    const error = await domainRejectionOf(t.useCase.execute({ commandId: newId(), orderId: newId() }));

    expect(error.code).toBe('order_not_found');
    expect(t.uow.outbox).toEqual([]);
  });
});
