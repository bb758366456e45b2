// ConfirmOrder, ShipOrder and DeliverOrder are one rule each on the order's status machine:
// move the order one step on, write one event, refuse every other status. One table, the
// same behaviour asked of each.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../../src/application/clock.js';
import { ConfirmOrder } from '../../../../src/application/commerce/use-cases/confirm-order.js';
import { DeliverOrder } from '../../../../src/application/commerce/use-cases/deliver-order.js';
import { ShipOrder } from '../../../../src/application/commerce/use-cases/ship-order.js';
import { RecordedFailureError, type OrderStatus } from '../../../../src/domain/index.js';
import { FixedClock } from '../../fakes/fixed-clock.js';
import { InMemoryUnitOfWork } from '../../fakes/in-memory-unit-of-work.js';
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
  const clock = new FixedClock('2025-03-14T09:26:53.000Z');
  let uow: InMemoryUnitOfWork;
  let useCase: AdvanceOrder;

  beforeEach(() => {
    uow = new InMemoryUnitOfWork();
    useCase = build(uow, clock);
  });

  it(`moves a ${from} order to ${to} and answers with the new status`, async () => {
    const { orderId, productId } = await storedOrderIn(uow, clock, from);

    const output = await useCase.execute({ commandId: newId(), orderId });

    expect(output).toEqual({ orderId, status: to });
    expect(uow.storedOrder(orderId)?.status).toBe(to);
    expect(uow.storedProduct(productId)?.stock).toBe(8);
  });

  it(`writes one order.${to} outbox row stamped with the clock`, async () => {
    const fixture = await storedOrderIn(uow, clock, from);
    const commandId = newId();
    clock.advance(60_000);

    await useCase.execute({ commandId, orderId: fixture.orderId });

    const rows = fixture.newOutboxRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: `order.${to}`,
      aggregateType: 'order',
      aggregateId: fixture.orderId,
      occurredAt: clock.now(),
      commandId,
      payload: { orderId: fixture.orderId, status: to, total: { amount: '25.00', currency: 'EUR' } },
    });
  });

  it('refuses an unknown order with order_not_found', async () => {
    const error = await domainRejectionOf(useCase.execute({ commandId: newId(), orderId: newId() }));

    expect(error.code).toBe('order_not_found');
    expect(uow.outbox).toEqual([]);
  });

  it.each(ALL.filter((status) => status !== from))('refuses a %s order with invalid_transition and changes nothing', async (status) => {
    const fixture = await storedOrderIn(uow, clock, status);

    const error = await domainRejectionOf(useCase.execute({ commandId: newId(), orderId: fixture.orderId }));

    expect(error.code).toBe('invalid_transition');
    expect(uow.storedOrder(fixture.orderId)?.status).toBe(status);
    expect(fixture.newOutboxRows()).toEqual([]);
  });

  it('answers a redelivered command the same, with one event', async () => {
    const fixture = await storedOrderIn(uow, clock, from);
    const cmd = { commandId: newId(), orderId: fixture.orderId };

    const first = await useCase.execute(cmd);
    const again = await useCase.execute(cmd);

    expect(again).toEqual(first);
    expect(fixture.newOutboxRows().map((row) => row.type)).toEqual([`order.${to}`]);
  });

  it('refuses the same step sent again as a new command', async () => {
    const fixture = await storedOrderIn(uow, clock, from);
    await useCase.execute({ commandId: newId(), orderId: fixture.orderId });

    const error = await domainRejectionOf(useCase.execute({ commandId: newId(), orderId: fixture.orderId }));

    expect(error.code).toBe('invalid_transition');
    expect(fixture.newOutboxRows()).toHaveLength(1);
  });

  it('keeps failing a redelivered command that was refused', async () => {
    const fixture = await storedOrderIn(uow, clock, 'cancelled');
    const cmd = { commandId: newId(), orderId: fixture.orderId };
    await domainRejectionOf(useCase.execute(cmd));

    const again = await domainRejectionOf(useCase.execute(cmd));

    expect(again).toBeInstanceOf(RecordedFailureError);
    expect(again.code).toBe('invalid_transition');
  });
});
