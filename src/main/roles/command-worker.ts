import { systemClock } from '../../application/clock.js';
import { AddProduct } from '../../application/commerce/use-cases/add-product.js';
import { CancelOrder } from '../../application/commerce/use-cases/cancel-order.js';
import { ConfirmOrder } from '../../application/commerce/use-cases/confirm-order.js';
import { DeliverOrder } from '../../application/commerce/use-cases/deliver-order.js';
import { PlaceOrder } from '../../application/commerce/use-cases/place-order.js';
import { RegisterUser } from '../../application/commerce/use-cases/register-user.js';
import { RestockProduct } from '../../application/commerce/use-cases/restock-product.js';
import { ShipOrder } from '../../application/commerce/use-cases/ship-order.js';
import type { UnitOfWork } from '../../application/commerce/ports/unit-of-work.js';
import type { Config } from '../../infrastructure/config.js';
import { isTransient } from '../../infrastructure/errors.js';
import { BullMqCommandOrdering, type CommandOrderingOptions } from '../../infrastructure/queue/bullmq-command-ordering.js';
import { recordGaveUpCommands } from '../../infrastructure/triage/gave-up-commands.js';
import { QUEUES } from '../../../queues/names.js';
import { commandBackoff } from '../../../queues/commands.js';
import { createCommandProcessor, type CommandHandlers } from '../../../workers/command-processor.js';
import { openOrm, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';
import { startQueueWorker, type QueueWorkerDeps, type RunningWorker } from './queue-worker.js';

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

export type CommandWorkerDeps = QueueWorkerDeps & Pick<Infrastructure, 'uow' | 'orm'>;

/** `ordering`: the recheck and gap timings of per-aggregate ordering (tests shorten them). */
export function startCommandWorker(infra: CommandWorkerDeps, options: { ordering?: CommandOrderingOptions } = {}): RunningWorker {
  const { config, logger } = infra;
  // Jobs with a predecessor (per-aggregate ordering, ADR 0006) are ordered whatever
  // COMMAND_ORDERING says here: that setting is the intake's.
  const ordering = new BullMqCommandOrdering(infra.workerConnection, (commandId) => infra.uow.hasOutcome(commandId), logger, options.ordering);
  const running = startQueueWorker(infra, QUEUES.commands, {
    processor: createCommandProcessor(commandHandlers(infra.uow), logger, isTransient, ordering),
    backoffStrategy: commandBackoff,
  });
  ordering.attach(running.worker);
  // Jobs that run out of attempts are listed for triage (GET /v1/commands?status=gave_up).
  recordGaveUpCommands(running.worker, (sql, params) => infra.orm.em.getConnection().execute(sql, params), logger);
  logger.info({ concurrency: config.workerConcurrency, prefix: config.queuePrefix }, 'command worker started');
  return running;
}

/**
 * The `worker` process: the ORM (its one pool: the use cases run through the unit of work
 * only) and a blocking Redis connection. No queue producers, no plain pg pool.
 */
export function startCommandWorkerProcess(config: Config): Promise<RunningProcess> {
  return startRoleProcess(config, 'worker', async ({ observability, resources, redis }) => {
    const { orm, uow } = await openOrm(config, resources);
    return startCommandWorker({ ...observability, orm, uow, workerConnection: redis('worker') });
  });
}
