import { Worker } from 'bullmq';
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
import { QUEUES } from '../../../queues/names.js';
import { commandBackoff } from '../../../queues/job-options.js';
import { createCommandProcessor, type CommandHandlers } from '../../../workers/command-processor.js';
import type { Infrastructure } from '../infrastructure.js';

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

export interface RunningWorker {
  worker: Worker;
  /** Stops fetching, waits for in-flight jobs up to `graceMs`, then forces the rest back. */
  stop(graceMs?: number): Promise<void>;
}

export function startCommandWorker(infra: Infrastructure): RunningWorker {
  const { config, logger } = infra;
  const worker = new Worker(QUEUES.commands, createCommandProcessor(commandHandlers(infra.uow), logger), {
    connection: infra.workerConnection,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    // A job whose worker died is handed to another worker after this long without a lock
    // renewal; the stalled check runs as often.
    lockDuration: config.workerLockMs,
    settings: { backoffStrategy: commandBackoff },
    stalledInterval: config.workerLockMs,
    maxStalledCount: 5,
    telemetry: infra.tracing?.bullmq,
  });
  infra.metrics.observeWorker(worker);
  worker.on('error', (error) => logger.error({ err: error }, 'command worker error'));
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      const commandId = (job.data as { commandId?: unknown }).commandId;
      logger.error({ jobId: job.id, commandId, type: job.name, err: error }, 'command job gave up after its last attempt');
    }
  });
  logger.info({ concurrency: config.workerConcurrency, prefix: config.queuePrefix }, 'command worker started');
  return {
    worker,
    stop: async (graceMs) => {
      if ((await stopWorker(worker, graceMs)) === 'timeout') {
        logger.warn('jobs still running after the grace period: left to another worker as stalled');
      }
    },
  };
}

/** Resolves 'closed' when every active job finished, or 'timeout' after `graceMs`. */
export async function stopWorker(worker: Worker, graceMs = 25_000): Promise<'closed' | 'timeout'> {
  // close() stops fetching and waits for the active jobs. Past the grace period we stop
  // waiting (BullMQ ignores a second, forced close while the first is pending): the caller
  // closes the connections, the jobs' locks lapse, and another worker takes them over as
  // stalled, so nothing is lost.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([worker.close().then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  return outcome;
}
