import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.js';
import { RedisIdempotencyStore } from '../../infrastructure/idempotency/redis-idempotency-store.js';
import { BullMqCommandJobs } from '../../infrastructure/queue/bullmq-command-jobs.js';
import { BullMqCommandSender } from '../../infrastructure/queue/bullmq-command-sender.js';
import { createReadPool, PgReadModel } from '../../infrastructure/read/pg-read-model.js';
import type { Infrastructure } from '../infrastructure.js';
import { createWebhookManagement } from './webhooks.js';

export interface RunningWeb {
  app: FastifyInstance;
  /** Stops accepting connections, lets in-flight requests finish, closes the read pool. */
  stop(): Promise<void>;
}

/** Builds the intake API on the process's infrastructure (not listening yet). */
export async function buildWeb(infra: Infrastructure): Promise<RunningWeb> {
  const { config, logger } = infra;
  const readPool = createReadPool(config.databaseReadUrl ?? config.databaseUrl, 10, {
    onError: (error) => logger.warn({ err: error }, 'idle read connection failed'),
  });
  // System-wide gauges, read at scrape time: queue depth from Redis, the outbox from PostgreSQL.
  infra.metrics.trackQueues(Object.values(infra.queues));
  infra.metrics.trackOutbox(infra.pool);
  const app = await buildApp({
    config,
    logger,
    metrics: infra.metrics,
    tracingPlugin: infra.tracing?.fastifyPlugin,
    commands: new BullMqCommandSender(infra.queues.commands),
    idempotency: new RedisIdempotencyStore(infra.producerConnection, { prefix: config.queuePrefix }),
    readModel: new PgReadModel(readPool),
    commandJobs: new BullMqCommandJobs(infra.queues.commands),
    webhooks: createWebhookManagement(infra),
    queues: Object.values(infra.queues),
    readiness: {
      postgres: async () => {
        await infra.pool.query('select 1');
      },
      ...(config.databaseReadUrl
        ? {
            replica: async () => {
              await readPool.query('select 1');
            },
          }
        : {}),
      redis: async () => {
        await infra.producerConnection.ping();
      },
    },
  });
  return {
    app,
    async stop() {
      await app.close();
      await readPool.end();
    },
  };
}
