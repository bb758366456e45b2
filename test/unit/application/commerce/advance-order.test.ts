// ConfirmOrder, ShipOrder and DeliverOrder are one rule each on the order's status machine:
// move the order one step on, write one event, refuse every other status. One table, the
// same behaviour asked of each.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../../src/application/clock.js';
import { ConfirmOrder } from '../../../../src/application/commerce/use-cases/confirm-order.js';
import { DeliverOrder } from '../../../../src/application/commerce/use-cases/deliver-order.js';
import { ShipOrder } from '../../../../src/application/commerce/use-cases/ship-order.js';
import { RecordedFailureError, type OrderStatus } from '../../../../src/domain/index.js';
import { InMemoryUnitOfWork } from '../../fakes/in-memory-unit-of-work.js';
import { useCaseUnderTest } from '../../support/use-case.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { storedOrderIn } from '../../support/orders.js';

interface AdvanceOrder {
  execute(input: { commandId: string; orderId: string }): Promise<{ orderId: string; status: string }>;
}

const ALL: OrderStatus[] = ['pending', 'confirmed', 'shipped', 'delivered', 'cancelled'];

const steps: { useCase: string; build: (uow: InMemoryUnitOfWork, clock: Clock) => AdvanceOrder; from: OrderStatus; to: OrderStatus }[] = [
  { useCase: 'ConfirmOrder', build: (uow, clock) => new ConfirmOrder(uow, clock), from: 'pending', to: 'confirmed' },
  { useCase: 'ShipOrder', build: (uow, clock) => new ShipOrder(uow, clock), from: 'confirmed', to: 'shipped' },
  { useCase: 'DeliverOrder', build: (uow, clock) => new DeliverOrder(uow, clock), from: 'shipped', to: 'delivered' },
];

describe.each(steps)('$useCase', ({ build, from, to }) => {
  const t = useCaseUnderTest(build);

  it(`moves a ${from} order to ${to} and answers with the new status`, async () => {
    const { orderId, productId } = await storedOrderIn(t.uow, t.clock, from);

    const output = await t.useCase.execute({ commandId: newId(), orderId });

    expect(output).toEqual({ orderId, status: to });
    expect(t.uow.storedOrder(orderId)?.status).toBe(to);
    expect(t.uow.storedProduct(productId)?.stock).toBe(8);
  });

  it(`writes one order.${to} outbox row stamped with the t.clock`, async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, from);
    const commandId = newId();
    t.clock.advance(60_000);

    await t.useCase.execute({ commandId, orderId: fixture.orderId });

    const rows = fixture.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: `order.${to}`,
      aggregateType: 'order',
      aggregateId: fixture.orderId,
      occurredAt: t.clock.now(),
      commandId,
      payload: { orderId: fixture.orderId, status: to, total: { amount: '25.00', currency: 'EUR' } },
    });
  });

  it('refuses an unknown order with order_not_found', async () => {
    const error = await domainRejectionOf(t.useCase.execute({ commandId: newId(), orderId: newId() }));

    expect(error.code).toBe('order_not_found');
    expect(t.uow.outbox).toEqual([]);
  });

  it.each(ALL.filter((status) => status !== from))('refuses a %s order with invalid_transition and changes nothing', async (status) => {
    const fixture = await storedOrderIn(t.uow, t.clock, status);

    const error = await domainRejectionOf(t.useCase.execute({ commandId: newId(), orderId: fixture.orderId }));

    expect(error.code).toBe('invalid_transition');
    expect(t.uow.storedOrder(fixture.orderId)?.status).toBe(status);
    expect(fixture.newOutboxRows()).toEqual([]);
  });

  it('answers a redelivered command the same, with one event', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, from);
    const cmd = { commandId: newId(), orderId: fixture.orderId };

    await t.executedTwice(cmd);

    expect(fixture.newOutboxRows().map((row) => row.type)).toEqual([`order.${to}`]);
  });

  it('refuses the same step sent again as a new command', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, from);
    await t.useCase.execute({ commandId: newId(), orderId: fixture.orderId });

    const error = await domainRejectionOf(t.useCase.execute({ commandId: newId(), orderId: fixture.orderId }));

    expect(error.code).toBe('invalid_transition');
    expect(fixture.newOutboxRows()).toHaveLength(1);
  });

  it('keeps failing a redelivered command that was refused', async () => {
    const fixture = await storedOrderIn(t.uow, t.clock, 'cancelled');
    const cmd = { commandId: newId(), orderId: fixture.orderId };
    await domainRejectionOf(t.useCase.execute(cmd));

    const again = await domainRejectionOf(t.useCase.execute(cmd));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe('invalid_transition');
  });
});
