import { systemClock } from '../../application/ports/clock.js';
import { AddProduct } from '../../application/use-cases/add-product.js';
import { CancelOrder } from '../../application/use-cases/cancel-order.js';
import { ConfirmOrder } from '../../application/use-cases/confirm-order.js';
import { DeliverOrder } from '../../application/use-cases/deliver-order.js';
import { PlaceOrder } from '../../application/use-cases/place-order.js';
import { RegisterUser } from '../../application/use-cases/register-user.js';
import { RestockProduct } from '../../application/use-cases/restock-product.js';
import { ShipOrder } from '../../application/use-cases/ship-order.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import { isTransient } from '../../infrastructure/errors.js';
import { QUEUES } from '../../../queues/names.js';
import { commandBackoff } from '../../../queues/commands.js';
import { createCommandProcessor, type CommandHandlers } from '../../../workers/command-processor.js';
import type { Infrastructure } from '../infrastructure.js';
import { startQueueWorker, type RunningWorker } from './queue-worker.js';

export function commandHandlers(uow: UnitOfWork, clock = systemClock): CommandHandlers {
  return {
    RegisterUser: new RegisterUser(uow, clock),
    AddProduct: new AddProduct(uow, clock),
    RestockProduct: new RestockProduct(uow, clock),
    PlaceOrder: new PlaceOrder(uow, clock),
    ConfirmOrder: new ConfirmOrder(uow, clock),
    ShipOrder: new ShipOrder(uow, clock),
    DeliverOrder: new DeliverOrder(uow, clock),
    CancelOrder: new CancelOrder(uow, clock),
  };
}

export function startCommandWorker(infra: Infrastructure): RunningWorker {
  const { config, logger } = infra;
  const running = startQueueWorker(infra, QUEUES.commands, {
    processor: createCommandProcessor(commandHandlers(infra.uow), logger, isTransient),
    backoffStrategy: commandBackoff,
  });
  logger.info({ concurrency: config.workerConcurrency, prefix: config.queuePrefix }, 'command worker started');
  return running;
}
