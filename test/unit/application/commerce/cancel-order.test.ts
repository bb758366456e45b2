import { describe, expect, it } from 'vitest';
import { CancelOrder } from '../../../../src/application/commerce/use-cases/cancel-order.js';
import { RecordedFailureError, type OrderStatus } from '../../../../src/domain/index.js';
import { useCaseUnderTest } from '../../support/use-case.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { storedOrderIn } from '../../support/orders.js';
import { seedOrder, seedProduct } from '../../support/seed.js';

describe('CancelOrder', () => {
  const t = useCaseUnderTest((uow, clock) => new CancelOrder(uow, clock));

  it.each<OrderStatus>(['pending', 'confirmed'])(
    'cancels a %s order, answers with the new status and keeps the reason',
    async (status) => {
      const { orderId } = await storedOrderIn(t.uow, t.clock, status);

      const output = await t.useCase.execute({ commandId: newId(), orderId, reason: '  wrong size  ' });

      expect(output).toEqual({ orderId, status: 'cancelled' });
      const stored = t.uow.storedOrder(orderId);
      expect(stored?.status).toBe('cancelled');
      expect(stored?.cancellationReason).toBe('wrong size');
    },
  );

  it('gives the units of every line back to the stored stock', async () => {
    const mug = seedProduct(t.uow, { stock: 10 });
    const plate = seedProduct(t.uow, { stock: 4 });
    const order = seedOrder(t.uow, [mug, plate], 4);
    expect([t.uow.storedProduct(mug.id)?.stock, t.uow.storedProduct(plate.id)?.stock]).toEqual([6, 0]);

    await t.useCase.execute({ commandId: newId(), orderId: order.id, reason: 'changed my mind' });

    expect([t.uow.storedProduct(mug.id)?.stock, t.uow.storedProduct(plate.id)?.stock]).toEqual([10, 4]);
  });

  it('writes one order.cancelled outbox row (the cancellation notice) with the reason', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'confirmed');
    const commandId = newId();
    t.clock.advance(60_000);

    await t.useCase.execute({ commandId, orderId: fixture.orderId, reason: 'wrong size' });

    const rows = fixture.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: 'order.cancelled',
      aggregateType: 'order',
      aggregateId: fixture.orderId,
      occurredAt: t.clock.now(),
      commandId,
      payload: { orderId: fixture.orderId, status: 'cancelled', reason: 'wrong size' },
    });
  });

  it('refuses an unknown order with order_not_found', async () => {
    const error = await domainRejectionOf(
      t.useCase.execute({ commandId: newId(), orderId: newId(), reason: 'changed my mind' }),
    );

    expect(error.code).toBe('order_not_found');
    expect(t.uow.outbox).toEqual([]);
  });

  it.each<OrderStatus>(['shipped', 'delivered', 'cancelled'])(
    'refuses a %s order with invalid_transition and gives no stock back',
    async (status) => {
      const fixture = await storedOrderIn(t.uow, t.clock, status);
      const stockBefore = t.uow.storedProduct(fixture.productId)?.stock;

      const error = await domainRejectionOf(
        t.useCase.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'too late' }),
      );

      expect(error.code).toBe('invalid_transition');
      expect(t.uow.storedOrder(fixture.orderId)?.status).toBe(status);
      expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(stockBefore);
      expect(fixture.newOutboxRows()).toEqual([]);
    },
  );

  it('gives stock back only once when a second cancellation arrives as a new command', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'pending');
    await t.useCase.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'first' });

    const error = await domainRejectionOf(
      t.useCase.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'second' }),
    );

    expect(error.code).toBe('invalid_transition');
    expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(10);
    expect(t.uow.storedOrder(fixture.orderId)?.cancellationReason).toBe('first');
    expect(fixture.newOutboxRows().map((row) => row.type)).toEqual(['order.cancelled']);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['r'.repeat(501), '501 characters'],
  ])('refuses the reason "%s" (%s) and changes nothing', async (reason) => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'pending');

    const error = await domainRejectionOf(t.useCase.execute({ commandId: newId(), orderId: fixture.orderId, reason }));

    expect(error.code).toBe('invalid_value');
    expect(t.uow.storedOrder(fixture.orderId)?.status).toBe('pending');
    expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(8);
    expect(fixture.newOutboxRows()).toEqual([]);
  });

  it('accepts a reason of 500 characters', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'pending');

    await t.useCase.execute({ commandId: newId(), orderId: fixture.orderId, reason: 'r'.repeat(500) });

    expect(t.uow.storedOrder(fixture.orderId)?.cancellationReason).toHaveLength(500);
  });

  it('gives stock back once when the same command is delivered twice', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'pending');
    const cmd = { commandId: newId(), orderId: fixture.orderId, reason: 'changed my mind' };

    await t.executedTwice(cmd);

    expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(10);
    expect(fixture.newOutboxRows()).toHaveLength(1);
  });

  it('keeps failing a redelivered command that was refused', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'shipped');
    const cmd = { commandId: newId(), orderId: fixture.orderId, reason: 'too late' };
    await domainRejectionOf(t.useCase.execute(cmd));

    const again = await domainRejectionOf(t.useCase.execute(cmd));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe('invalid_transition');
    expect(t.uow.storedProduct(fixture.productId)?.stock).toBe(8);
    expect(t.uow.processed(cmd.commandId)).toMatchObject({ commandType: 'CancelOrder', status: 'failed' });
  });
});
