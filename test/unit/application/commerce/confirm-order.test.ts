import { beforeEach, describe, expect, it } from 'vitest';
import { ConfirmOrder } from '../../../../src/application/commerce/use-cases/confirm-order.js';
import { RecordedFailureError, type OrderStatus } from '../../../../src/domain/index.js';
import { FixedClock } from '../../fakes/fixed-clock.js';
import { InMemoryUnitOfWork } from '../../fakes/in-memory-unit-of-work.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { storedOrderIn } from '../../support/orders.js';

describe('ConfirmOrder', () => {
  const clock = new FixedClock('2025-03-14T09:26:53.000Z');
  let uow: InMemoryUnitOfWork;
  let confirmOrder: ConfirmOrder;

  beforeEach(() => {
    uow = new InMemoryUnitOfWork();
    confirmOrder = new ConfirmOrder(uow, clock);
  });

  it('confirms a pending order and answers with the new status', async () => {
    const { orderId, productId } = await storedOrderIn(uow, clock, 'pending');

    const output = await confirmOrder.execute({ commandId: newId(), orderId });

    expect(output).toEqual({ orderId, status: 'confirmed' });
    expect(uow.storedOrder(orderId)?.status).toBe('confirmed');
    expect(uow.storedProduct(productId)?.stock).toBe(8);
  });

  it('writes one order.confirmed outbox row', async () => {
    const fixture = await storedOrderIn(uow, clock, 'pending');
    const commandId = newId();

    await confirmOrder.execute({ commandId, orderId: fixture.orderId });

    expect(fixture.newOutboxRows()).toEqual([
      expect.objectContaining({
        type: 'order.confirmed',
        aggregateType: 'order',
        aggregateId: fixture.orderId,
        occurredAt: clock.now(),
        commandId,
        payload: expect.objectContaining({ orderId: fixture.orderId, status: 'confirmed' }) as unknown,
      }),
    ]);
  });

  it('refuses an unknown order with order_not_found', async () => {
    const orderId = newId();

    const error = await domainRejectionOf(confirmOrder.execute({ commandId: newId(), orderId }));

    expect(error.code).toBe('order_not_found');
    expect(uow.outbox).toEqual([]);
  });

  it.each<OrderStatus>(['confirmed', 'shipped', 'delivered', 'cancelled'])(
    'refuses a %s order with invalid_transition and changes nothing',
    async (status) => {
      const fixture = await storedOrderIn(uow, clock, status);

      const error = await domainRejectionOf(confirmOrder.execute({ commandId: newId(), orderId: fixture.orderId }));

      expect(error.code).toBe('invalid_transition');
      expect(uow.storedOrder(fixture.orderId)?.status).toBe(status);
      expect(fixture.newOutboxRows()).toEqual([]);
    },
  );

  it('answers a redelivered command the same, with one event', async () => {
    const fixture = await storedOrderIn(uow, clock, 'pending');
    const cmd = { commandId: newId(), orderId: fixture.orderId };

    const first = await confirmOrder.execute(cmd);
    const again = await confirmOrder.execute(cmd);

    expect(again).toEqual(first);
    expect(fixture.newOutboxRows().map((row) => row.type)).toEqual(['order.confirmed']);
  });

  it('refuses a second confirmation sent as a new command', async () => {
    const fixture = await storedOrderIn(uow, clock, 'pending');
    await confirmOrder.execute({ commandId: newId(), orderId: fixture.orderId });

    const error = await domainRejectionOf(confirmOrder.execute({ commandId: newId(), orderId: fixture.orderId }));

    expect(error.code).toBe('invalid_transition');
    expect(fixture.newOutboxRows()).toHaveLength(1);
  });

  it('keeps failing a redelivered command that was refused', async () => {
    const fixture = await storedOrderIn(uow, clock, 'cancelled');
    const cmd = { commandId: newId(), orderId: fixture.orderId };
    await domainRejectionOf(confirmOrder.execute(cmd));

    const again = await domainRejectionOf(confirmOrder.execute(cmd));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe('invalid_transition');
  });
});
