import { changeOrderStatus, type OrderCommandInput, type OrderStatusOutput } from './change-order-status.js';
import { CommerceUseCase } from './use-case.js';

export type DeliverOrderInput = OrderCommandInput;

/**
 * Delivers an order.
 * - the order must exist (`order_not_found`) and be shipped (`invalid_transition`);
 * - the order becomes delivered and records `order.delivered`.
 */
export class DeliverOrder extends CommerceUseCase {
  execute(input: DeliverOrderInput): Promise<OrderStatusOutput> {
    const command = { commandId: input.commandId, commandType: 'DeliverOrder' };
    return changeOrderStatus(this.uow, command, input.orderId, (order) => order.deliver(this.clock.now()));
  }
}
