import { changeOrderStatus, type OrderCommandInput, type OrderStatusOutput } from './change-order-status.js';
import { CommerceUseCase } from './use-case.js';

export interface CancelOrderInput extends OrderCommandInput {
  reason: string;
}

/**
 * Cancels an order.
 * - the order must exist (`order_not_found`) and be pending or confirmed (`invalid_transition`);
 * - a reason of 1..500 characters is kept;
 * - the reserved units go back to stock; records `order.cancelled` (which sends a notice).
 */
export class CancelOrder extends CommerceUseCase {
  execute(input: CancelOrderInput): Promise<OrderStatusOutput> {
    // Cancelling gives the order's units back: its products are locked.
    const command = { commandId: input.commandId, commandType: 'CancelOrder', locks: { productsOfOrders: [input.orderId] } };
    return changeOrderStatus(this.uow, command, input.orderId, async (order, { products }) => {
      const locked = await products.findManyForUpdate(order.items.map((item) => item.productId));
      order.cancel(input.reason, locked, this.clock.now());
    });
  }
}
