import type { Queue } from 'bullmq';
import pg from 'pg';
import { ConfigError, loadConfig, type Config } from '../infrastructure/config.js';
import { createLogger, type Logger } from '../infrastructure/logger.js';
import { createOrm, type MikroORM } from '../infrastructure/persistence/mikro-orm.js';
import { MikroOrmUnitOfWork } from '../infrastructure/persistence/mikro-orm-unit-of-work.js';
import { createQueue } from '../infrastructure/queue/queues.js';
import { ALL_QUEUES, type QueueName } from '../../queues/names.js';
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
  /** A plain pg pool on the primary, for the relay and the delivery workers' SQL. */
  pool: pg.Pool;
  close(): Promise<void>;
}

export async function createInfrastructure(config: Config, role: string): Promise<Infrastructure> {
  const logger = createLogger({ level: config.logLevel, role });
  if (config.defaultsApplied.length > 0) {
    logger.warn({ defaults: config.defaultsApplied }, 'development defaults applied (set these in production)');
  }
  const orm = await createOrm({ databaseUrl: config.databaseUrl, poolSize: Math.max(config.workerConcurrency + 2, 10) });
  const workerConnection = createRedisConnection({ url: config.redisUrl, role: 'worker', connectionName: `conveyor:${role}` });
  const producerConnection = createRedisConnection({
    url: config.redisUrl,
    role: 'producer',
    connectionName: `conveyor:${role}:producer`,
  });
  const queues = Object.fromEntries(
    ALL_QUEUES.map((name) => [name, createQueue(name, { connection: producerConnection, prefix: config.queuePrefix })]),
  ) as Record<QueueName, Queue>;
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: Math.max(config.workerConcurrency + 2, 10) });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
  return {
    config,
    logger,
    orm,
    uow: new MikroOrmUnitOfWork(orm),
    workerConnection,
    producerConnection,
    queues,
    pool,
    async close() {
      await Promise.allSettled(Object.values(queues).map((queue) => queue.close()));
      await Promise.allSettled([workerConnection.quit(), producerConnection.quit()]);
      await Promise.allSettled([orm.close(true), pool.end()]);
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

/** Loads the configuration, or prints what is wrong with it and exits 1. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`conveyor cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
