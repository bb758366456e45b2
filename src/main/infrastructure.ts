import { Queue } from 'bullmq';
import type { Config } from '../infrastructure/config.js';
import { createLogger, type Logger } from '../infrastructure/logger.js';
import { createOrm, type MikroORM } from '../infrastructure/persistence/mikro-orm.js';
import { MikroOrmUnitOfWork } from '../infrastructure/persistence/mikro-orm-unit-of-work.js';
import { ALL_QUEUES, type QueueName } from '../../queues/names.js';
import { commandJobOptions, deliveryJobOptions } from '../../queues/job-options.js';
import { createRedisConnection, type RedisConnection } from '../../queues/connection.js';

/**
 * The shared adapters of a process: one MikroORM (its pool), Redis connections, the queues.
 * Built once per process by the composition root; everything closes in reverse order.
 */
export interface Infrastructure {
  config: Config;
  logger: Logger;
  orm: MikroORM;
  uow: MikroOrmUnitOfWork;
  /** Blocking connection for workers (retries forever). */
  workerConnection: RedisConnection;
  /** Fail-fast connection for producers (so the API can answer 503 when Redis is down). */
  producerConnection: RedisConnection;
  queues: Record<QueueName, Queue>;
  close(): Promise<void>;
}

export async function createInfrastructure(config: Config, role: string): Promise<Infrastructure> {
  const logger = createLogger({ level: config.logLevel, role });
  const orm = await createOrm({ databaseUrl: config.databaseUrl, poolSize: Math.max(config.workerConcurrency + 2, 10) });
  const workerConnection = createRedisConnection({ url: config.redisUrl, role: 'worker', connectionName: `conveyor:${role}` });
  const producerConnection = createRedisConnection({
    url: config.redisUrl,
    role: 'producer',
    connectionName: `conveyor:${role}:producer`,
  });
  const queues = Object.fromEntries(
    ALL_QUEUES.map((name) => [
      name,
      new Queue(name, {
        connection: producerConnection,
        prefix: config.queuePrefix,
        defaultJobOptions: name === 'commands' ? commandJobOptions : deliveryJobOptions,
      }),
    ]),
  ) as Record<QueueName, Queue>;
  return {
    config,
    logger,
    orm,
    uow: new MikroOrmUnitOfWork(orm),
    workerConnection,
    producerConnection,
    queues,
    async close() {
      await Promise.allSettled(Object.values(queues).map((queue) => queue.close()));
      await Promise.allSettled([workerConnection.quit(), producerConnection.quit()]);
      await orm.close(true);
    },
  };
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits. A second signal, or `stop` taking longer
 * than `graceMs`, exits at once: the orchestrator's kill is coming anyway.
 */
export function exitOnSignal(logger: Logger, stop: () => Promise<void>, graceMs = 30_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ graceMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
