import type { Clock } from '../../../src/application/clock.js';
import { CancelOrder } from '../../../src/application/commerce/use-cases/cancel-order.js';
import { ConfirmOrder } from '../../../src/application/commerce/use-cases/confirm-order.js';
import { DeliverOrder } from '../../../src/application/commerce/use-cases/deliver-order.js';
import { ShipOrder } from '../../../src/application/commerce/use-cases/ship-order.js';
import type { OrderStatus } from '../../../src/domain/index.js';
import type { InMemoryUnitOfWork, OutboxMessage } from '../fakes/in-memory-unit-of-work.js';
import { newId } from './ids.js';
import { seedOrder, seedProduct } from './seed.js';

export interface OrderFixture {
  orderId: string;
  /** The one product of the order: 10 units at first, 2 of them on the order. */
  productId: string;
  /** The outbox rows written since the fixture was built. */
  newOutboxRows(): OutboxMessage[];
}

/** A stored order brought into `status` through the use cases, as a client would. */
export async function storedOrderIn(uow: InMemoryUnitOfWork, clock: Clock, status: OrderStatus): Promise<OrderFixture> {
  const product = seedProduct(uow, { stock: 10 });
  const { id: orderId } = seedOrder(uow, [product], 2);
  const order = { orderId };
  if (status === 'cancelled') {
    await new CancelOrder(uow, clock).execute({ ...order, commandId: newId(), reason: 'set-up' });
  }
  if (status === 'confirmed' || status === 'shipped' || status === 'delivered') {
    await new ConfirmOrder(uow, clock).execute({ ...order, commandId: newId() });
  }
  if (status === 'shipped' || status === 'delivered') {
    await new ShipOrder(uow, clock).execute({ ...order, commandId: newId() });
  }
  if (status === 'delivered') {
    await new DeliverOrder(uow, clock).execute({ ...order, commandId: newId() });
  }
  if (uow.storedOrder(orderId)?.status !== status) throw new Error(`could not bring the order to ${status}`);
  const seen = uow.outbox.length;
  return { orderId, productId: product.id, newOutboxRows: () => uow.outbox.slice(seen) };
}

/** The order.placed payload of a pending order `orderId` of `userId` for two 'Red mug's at 12.50 EUR. */
export function twoRedMugsPlaced(orderId: string, userId: string, mug: { id: string; sku: string }) {
  return {
    orderId,
    userId,
    status: 'pending',
    items: [{ productId: mug.id, sku: mug.sku, name: 'Red mug', quantity: 2, unitPrice: { amount: '12.50', currency: 'EUR' } }],
    total: { amount: '25.00', currency: 'EUR' },
  };
}
