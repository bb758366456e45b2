import type { Clock } from '../../clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import { changeOrderStatus, type OrderStatusOutput } from './change-order-status.js';

export interface ConfirmOrderInput {
  commandId: string;
  orderId: string;
}

/**
 * Confirms an order.
 * - the order must exist (`order_not_found`) and be pending (`invalid_transition`);
 * - the order becomes confirmed and records `order.confirmed`.
 */
export class ConfirmOrder {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  execute(input: ConfirmOrderInput): Promise<OrderStatusOutput> {
    const command = { commandId: input.commandId, commandType: 'ConfirmOrder' };
    return changeOrderStatus(this.uow, command, input.orderId, (order) => order.confirm(this.clock.now()));
  }
}
