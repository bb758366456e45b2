import type { Clock } from '../../clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import { changeOrderStatus, type OrderStatusOutput } from './change-order-status.js';

export interface DeliverOrderInput {
  commandId: string;
  orderId: string;
}

/**
 * Delivers an order.
 * - the order must exist (`order_not_found`) and be shipped (`invalid_transition`);
 * - the order becomes delivered and records `order.delivered`.
 */
export class DeliverOrder {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  execute(input: DeliverOrderInput): Promise<OrderStatusOutput> {
    const command = { commandId: input.commandId, commandType: 'DeliverOrder' };
    return changeOrderStatus(this.uow, command, input.orderId, (order) => order.deliver(this.clock.now()));
  }
}
