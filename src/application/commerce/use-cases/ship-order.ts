import type { Clock } from '../../clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import { changeOrderStatus, type OrderStatusOutput } from './change-order-status.js';

export interface ShipOrderInput {
  commandId: string;
  orderId: string;
}

/**
 * Ships an order.
 * - the order must exist (`order_not_found`) and be confirmed (`invalid_transition`);
 * - the order becomes shipped and records `order.shipped`.
 */
export class ShipOrder {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  execute(input: ShipOrderInput): Promise<OrderStatusOutput> {
    const command = { commandId: input.commandId, commandType: 'ShipOrder' };
    return changeOrderStatus(this.uow, command, input.orderId, (order) => order.ship(this.clock.now()));
  }
}
