import { changeOrderStatus, type OrderCommandInput, type OrderStatusOutput } from './change-order-status.js';
import { CommerceUseCase } from './use-case.js';

export type ShipOrderInput = OrderCommandInput;

/**
 * Ships an order.
 * - the order must exist (`order_not_found`) and be confirmed (`invalid_transition`);
 * - the order becomes shipped and records `order.shipped`.
 */
export class ShipOrder extends CommerceUseCase {
  execute(input: ShipOrderInput): Promise<OrderStatusOutput> {
    const command = { commandId: input.commandId, commandType: 'ShipOrder' };
    return changeOrderStatus(this.uow, command, input.orderId, (order) => order.ship(this.clock.now()));
  }
}
