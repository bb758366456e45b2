import { NotFoundError } from '../../../domain/index.js';
import type { OrderCommandInput, OrderStatusOutput } from './change-order-status.js';
import { CommerceUseCase } from './use-case.js';

export type ExpireOrderInput = OrderCommandInput;

export interface ExpireOrderOutput extends OrderStatusOutput {
  /** True when this command cancelled the order; false when it was no longer pending. */
  expired: boolean;
}

/**
 * Expires an order whose confirmation deadline has passed. The platform schedules it when the
 * order is placed (ORDER_CONFIRMATION_TIMEOUT after `order.placed`); clients never send it.
 * - the order must exist (`order_not_found`);
 * - a pending order is cancelled with the reason `not confirmed in time`: its units go back to
 *   stock and `order.cancelled` is recorded (which sends the cancellation notice);
 * - an order confirmed, shipped, delivered or cancelled before is left unchanged, and the
 *   command still succeeds (`expired: false`).
 */
export class ExpireOrder extends CommerceUseCase {
  execute(input: ExpireOrderInput): Promise<ExpireOrderOutput> {
    const command = { commandId: input.commandId, commandType: 'ExpireOrder', locks: { productsOfOrders: [input.orderId] } };
    return this.uow.run(command, async ({ orders, products }) => {
      const order = await orders.findByIdForUpdate(input.orderId);
      if (!order) throw new NotFoundError('order', input.orderId);
      // Locked whatever the status (one statement): the aggregate decides whether the order is
      // still pending, and cancelling it needs its products.
      const locked = await products.findManyForUpdate(order.items.map((item) => item.productId));
      const expired = order.expire(locked, this.clock.now());
      return { orderId: order.id, status: order.status, expired };
    });
  }
}
