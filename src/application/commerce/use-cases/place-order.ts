import { NotFoundError, Order } from '../../../domain/index.js';
import { CommerceUseCase } from './use-case.js';

export interface PlaceOrderInput {
  commandId: string;
  orderId: string;
  userId: string;
  items: { productId: string; quantity: number }[];
}

export interface PlaceOrderOutput {
  orderId: string;
  total: { amount: string; currency: string };
}

/**
 * Places an order for a registered user.
 * - the user must exist (`user_not_found`), every product too (`product_not_found`);
 * - every line's stock is reserved atomically: the whole order fails with
 *   `insufficient_stock` if one line cannot be served, and stock never goes below zero;
 * - unit prices are captured now; all products share one currency (`currency_mismatch`);
 * - records `order.placed` (which sends the order confirmation).
 */
export class PlaceOrder extends CommerceUseCase {
  execute(input: PlaceOrderInput): Promise<PlaceOrderOutput> {
    return this.uow.run(
      {
        commandId: input.commandId,
        commandType: 'PlaceOrder',
        locks: { products: input.items.map((item) => item.productId) },
        reads: { users: [input.userId] },
      },
      async ({ users, products, orders }) => {
        // Independent reads, asked together: the unit of work may send them in one round trip.
        const [user, locked] = await Promise.all([
          users.findById(input.userId),
          products.findManyForUpdate(input.items.map((item) => item.productId)),
        ]);
        if (!user) throw new NotFoundError('user', input.userId);
        const order = Order.place({
          id: input.orderId,
          userId: user.id,
          lines: input.items,
          products: locked,
          now: this.clock.now(),
        });
        orders.add(order);
        return { orderId: order.id, total: order.total.toJSON() };
      },
    );
  }
}
