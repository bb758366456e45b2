import { changeOrderStatus, type OrderCommandInput, type OrderStatusOutput } from './change-order-status.js';
import { CommerceUseCase } from './use-case.js';

export type ConfirmOrderInput = OrderCommandInput;

/**
 * Confirms an order.
 * - the order must exist (`order_not_found`) and be pending (`invalid_transition`);
 * - the order becomes confirmed and records `order.confirmed`.
 */
export class ConfirmOrder extends CommerceUseCase {
  execute(input: ConfirmOrderInput): Promise<OrderStatusOutput> {
    const command = { commandId: input.commandId, commandType: 'ConfirmOrder' };
    return changeOrderStatus(this.uow, command, input.orderId, (order) => order.confirm(this.clock.now()));
  }
}
