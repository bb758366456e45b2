import { systemClock } from '../../application/clock.js';
import { AddProduct } from '../../application/commerce/use-cases/add-product.js';
import { CancelOrder } from '../../application/commerce/use-cases/cancel-order.js';
import { ConfirmOrder } from '../../application/commerce/use-cases/confirm-order.js';
import { DeliverOrder } from '../../application/commerce/use-cases/deliver-order.js';
import { ExpireOrder } from '../../application/commerce/use-cases/expire-order.js';
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
import { SCHEDULE_TICK_JOB } from '../../../queues/schedules.js';
import { createCommandProcessor, type CommandHandlers } from '../../../workers/command-processor.js';
import { openOrm, openQueues, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';
import { startQueueWorker, type QueueWorkerDeps, type RunningWorker } from './queue-worker.js';
import { scheduleTickProcessor } from './scheduling.js';

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
    ExpireOrder: new ExpireOrder(uow, clock),
  };
}

/** The unit of work runs the commands; the ORM and the `commands` producer serve the schedules' ticks. */
export type CommandWorkerDeps = QueueWorkerDeps &
  Pick<Infrastructure, 'uow' | 'orm'> & { queues: Pick<Infrastructure['queues'], 'commands'> };

/** `ordering`: the recheck and gap timings of per-aggregate ordering (tests shorten them). */
export function startCommandWorker(infra: CommandWorkerDeps, options: { ordering?: CommandOrderingOptions } = {}): RunningWorker {
  const { config, logger } = infra;
  // Jobs with a predecessor (per-aggregate ordering, ADR 0006) are ordered whatever
  // COMMAND_ORDERING says here: that setting is the intake's.
  const ordering = new BullMqCommandOrdering(infra.workerConnection, (commandId) => infra.uow.pendingLink(commandId), logger, options.ordering);
  const processCommand = createCommandProcessor(commandHandlers(infra.uow), logger, isTransient, ordering);
  // A schedule's tick (added by BullMQ's job scheduler on this queue) is no command: it
  // becomes the run's command, which comes back to this worker as an ordinary job.
  const processTick = scheduleTickProcessor(infra);
  const running = startQueueWorker(infra, QUEUES.commands, {
    processor: (job, token) => (job.name === SCHEDULE_TICK_JOB ? processTick(job) : processCommand(job, token)),
    backoffStrategy: commandBackoff,
  });
  ordering.attach(running.worker);
  // Jobs that run out of attempts are listed for triage (GET /v1/commands?status=gave_up).
  recordGaveUpCommands(running.worker, (sql, params) => infra.orm.em.getConnection().execute(sql, params), logger);
  logger.info({ concurrency: config.workerConcurrency, prefix: config.queuePrefix }, 'command worker started');
  return running;
}

/**
 * The `worker` process: the ORM (its one pool: the use cases run through the unit of work,
 * and the schedules' runs are recorded on it), a blocking Redis connection, and the producer
 * of `commands` that queues the runs of the schedules' ticks. No plain pg pool.
 */
export function startCommandWorkerProcess(config: Config): Promise<RunningProcess> {
  return startRoleProcess(config, 'worker', async ({ observability, resources, redis }) => {
    const { orm, uow } = await openOrm(config, 'worker', resources);
    const queues = openQueues([QUEUES.commands], redis('producer'), observability, resources);
    return startCommandWorker({ ...observability, orm, uow, queues, workerConnection: redis('worker') });
  });
}
