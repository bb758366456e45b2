import { beforeEach, describe, expect, it } from 'vitest';
import { DeliverOrder } from '../../../../src/application/commerce/use-cases/deliver-order.js';
import { RecordedFailureError, type OrderStatus } from '../../../../src/domain/index.js';
import { FixedClock } from '../../fakes/fixed-clock.js';
import { InMemoryUnitOfWork } from '../../fakes/in-memory-unit-of-work.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { storedOrderIn } from '../../support/orders.js';

describe('DeliverOrder', () => {
  const clock = new FixedClock('2025-03-14T09:26:53.000Z');
  let uow: InMemoryUnitOfWork;
  let deliverOrder: DeliverOrder;

  beforeEach(() => {
    uow = new InMemoryUnitOfWork();
    deliverOrder = new DeliverOrder(uow, clock);
  });

  it('moves a shipped order to delivered and answers with the new status', async () => {
    const { orderId, productId } = await storedOrderIn(uow, clock, 'shipped');

    const output = await deliverOrder.execute({ commandId: newId(), orderId });

    expect(output).toEqual({ orderId, status: 'delivered' });
    expect(uow.storedOrder(orderId)?.status).toBe('delivered');
    expect(uow.storedProduct(productId)?.stock).toBe(8);
  });

  it('writes one order.delivered outbox row stamped with the clock', async () => {
    const fixture = await storedOrderIn(uow, clock, 'shipped');
    const commandId = newId();
    clock.advance(60_000);

    await deliverOrder.execute({ commandId, orderId: fixture.orderId });

    const rows = fixture.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: 'order.delivered',
      aggregateType: 'order',
      aggregateId: fixture.orderId,
      occurredAt: clock.now(),
      commandId,
      payload: { orderId: fixture.orderId, status: 'delivered', total: { amount: '25.00', currency: 'EUR' } },
    });
  });

  it('refuses an unknown order with order_not_found', async () => {
    const orderId = newId();

    const error = await domainRejectionOf(deliverOrder.execute({ commandId: newId(), orderId }));

    expect(error.code).toBe('order_not_found');
    expect(uow.outbox).toEqual([]);
  });

  it.each<OrderStatus>(['pending', 'confirmed', 'delivered', 'cancelled'])(
    'refuses a %s order with invalid_transition and changes nothing',
    async (status) => {
      const fixture = await storedOrderIn(uow, clock, status);

      const error = await domainRejectionOf(deliverOrder.execute({ commandId: newId(), orderId: fixture.orderId }));

      expect(error.code).toBe('invalid_transition');
      expect(uow.storedOrder(fixture.orderId)?.status).toBe(status);
      expect(fixture.newOutboxRows()).toEqual([]);
    },
  );

  it('answers a redelivered command the same, with one event', async () => {
    const fixture = await storedOrderIn(uow, clock, 'shipped');
    const cmd = { commandId: newId(), orderId: fixture.orderId };

    const first = await deliverOrder.execute(cmd);
    const again = await deliverOrder.execute(cmd);

    expect(again).toEqual(first);
    expect(fixture.newOutboxRows().map((row) => row.type)).toEqual(['order.delivered']);
  });

  it('keeps failing a redelivered command that was refused', async () => {
    const fixture = await storedOrderIn(uow, clock, 'cancelled');
    const cmd = { commandId: newId(), orderId: fixture.orderId };
    await domainRejectionOf(deliverOrder.execute(cmd));

    const again = await domainRejectionOf(deliverOrder.execute(cmd));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe('invalid_transition');
  });
});
