import { beforeEach, describe, expect, it } from 'vitest';
import { CancelOrder } from '../../../../src/application/commerce/use-cases/cancel-order.js';
import { RecordedFailureError, type OrderStatus } from '../../../../src/domain/index.js';
import { FixedClock } from '../../fakes/fixed-clock.js';
import { InMemoryUnitOfWork } from '../../fakes/in-memory-unit-of-work.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { storedOrderIn } from '../../support/orders.js';
import { seedOrder, seedProduct } from '../../support/seed.js';

describe('CancelOrder', () => {
  const clock = new FixedClock('2025-03-14T09:26:53.000Z');
  let uow: InMemoryUnitOfWork;
  let cancelOrder: CancelOrder;

  beforeEach(() => {
    uow = new InMemoryUnitOfWork();
    cancelOrder = new CancelOrder(uow, clock);
  });

  it.each<OrderStatus>(['pending', 'confirmed'])(
    'cancels a %s order, answers with the new status and keeps the reason',
    async (status) => {
      const { orderId } = await storedOrderIn(uow, clock, status);

      const output = await cancelOrder.execute({ commandId: newId(), orderId, reason: '  wrong size  ' });

      expect(output).toEqual({ orderId, status: 'cancelled' });
      const stored = uow.storedOrder(orderId);
      expect(stored?.status).toBe('cancelled');
      expect(stored?.cancellationReason).toBe('wrong size');
    },
  );

  it('gives the units of every line back to the stored stock', async () => {
    const mug = seedProduct(uow, { stock: 10 });
    const plate = seedProduct(uow, { stock: 4 });
    const order = seedOrder(uow, [mug, plate], 4);
    expect([uow.storedProduct(mug.id)?.stock, uow.storedProduct(plate.id)?.stock]).toEqual([6, 0]);

    await cancelOrder.execute({ commandId: newId(), orderId: order.id, reason: 'changed my mind' });

    expect([uow.storedProduct(mug.id)?.stock, uow.storedProduct(plate.id)?.stock]).toEqual([10, 4]);
  });

  it('writes one order.cancelled outbox row (the cancellation notice) with the reason', async () => {
    const fixture = await storedOrderIn(uow, clock, 'confirmed');
    const commandId = newId();
    clock.advance(60_000);

    await cancelOrder.execute({ commandId, orderId: fixture.orderId, reason: 'wrong size' });

    const rows = fixture.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: 'order.cancelled',
      aggregateType: 'order',
      aggregateId: fixture.orderId,
      occurredAt: clock.now(),
      commandId,
      payload: { orderId: fixture.orderId, status: 'cancelled', reason: 'wrong size' },
    });
  });

  it('refuses an unknown order with order_not_found', async () => {
    const error = await domainRejectionOf(
      cancelOrder.execute({ commandId: newId(), orderId: newId(), reason: 'changed my mind' }),
    );

    expect(error.code).toBe('order_not_found');
    expect(uow.outbox).toEqual([]);
  });

  it.each<OrderStatus>(['shipped', 'delivered', 'cancelled'])(
    'refuses a %s order with invalid_transition and gives no stock back',
    async (status) => {
      const fixture = await storedOrderIn(uow, clock, status);
      const stockBefore = uow.storedProduct(fixture.productId)?.stock;

      const error = await domainRejectionOf(
        cancelOrder.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'too late' }),
      );

      expect(error.code).toBe('invalid_transition');
      expect(uow.storedOrder(fixture.orderId)?.status).toBe(status);
      expect(uow.storedProduct(fixture.productId)?.stock).toBe(stockBefore);
      expect(fixture.newOutboxRows()).toEqual([]);
    },
  );

  it('gives stock back only once when a second cancellation arrives as a new command', async () => {
    const fixture = await storedOrderIn(uow, clock, 'pending');
    await cancelOrder.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'first' });

    const error = await domainRejectionOf(
      cancelOrder.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'second' }),
    );

    expect(error.code).toBe('invalid_transition');
    expect(uow.storedProduct(fixture.productId)?.stock).toBe(10);
    expect(uow.storedOrder(fixture.orderId)?.cancellationReason).toBe('first');
    expect(fixture.newOutboxRows().map((row) => row.type)).toEqual(['order.cancelled']);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['r'.repeat(501), '501 characters'],
  ])('refuses the reason "%s" (%s) and changes nothing', async (reason) => {
    const fixture = await storedOrderIn(uow, clock, 'pending');

    const error = await domainRejectionOf(cancelOrder.execute({ commandId: newId(), orderId: fixture.orderId, reason }));

    expect(error.code).toBe('invalid_value');
    expect(uow.storedOrder(fixture.orderId)?.status).toBe('pending');
    expect(uow.storedProduct(fixture.productId)?.stock).toBe(8);
    expect(fixture.newOutboxRows()).toEqual([]);
  });

  it('accepts a reason of 500 characters', async () => {
    const fixture = await storedOrderIn(uow, clock, 'pending');

    await cancelOrder.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'r'.repeat(500) });

    expect(uow.storedOrder(fixture.orderId)?.cancellationReason).toHaveLength(500);
  });

  it('gives stock back once when the same command is delivered twice', async () => {
    const fixture = await storedOrderIn(uow, clock, 'pending');
    const cmd = { commandId: newId(), orderId: fixture.orderId, reason: 'changed my mind' };

    const first = await cancelOrder.execute(cmd);
    const again = await cancelOrder.execute(cmd);

    expect(again).toEqual(first);
    expect(uow.storedProduct(fixture.productId)?.stock).toBe(10);
    expect(fixture.newOutboxRows()).toHaveLength(1);
  });

  it('keeps failing a redelivered command that was refused', async () => {
    const fixture = await storedOrderIn(uow, clock, 'shipped');
    const cmd = { commandId: newId(), orderId: fixture.orderId, reason: 'too late' };
    await domainRejectionOf(cancelOrder.execute(cmd));

    const again = await domainRejectionOf(cancelOrder.execute(cmd));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe('invalid_transition');
    expect(uow.storedProduct(fixture.productId)?.stock).toBe(8);
    expect(uow.processed(cmd.commandId)).toMatchObject({ commandType: 'CancelOrder', status: 'failed' });
  });
});
