import { NotFoundError, type Order } from '../../../domain/index.js';
import type { Repositories } from '../ports/repositories.js';
import type { CommandContext, UnitOfWork } from '../ports/unit-of-work.js';

/** What every order status command names: the command and the order. */
export interface OrderCommandInput {
  commandId: string;
  orderId: string;
}

export interface OrderStatusOutput {
  orderId: string;
  status: string;
}

/**
 * The shared shape of the order status use cases: load and lock the order, let the
 * aggregate decide, report the new status. The rules stay on `Order`.
 */
export function changeOrderStatus(
  uow: UnitOfWork,
  command: CommandContext,
  orderId: string,
  change: (order: Order, repos: Repositories) => Promise<void> | void,
): Promise<OrderStatusOutput> {
  return uow.run(command, async (repos) => {
    const order = await repos.orders.findByIdForUpdate(orderId);
    if (!order) throw new NotFoundError('order', orderId);
    await change(order, repos);
    return { orderId: order.id, status: order.status };
  });
}
