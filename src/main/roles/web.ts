import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { systemClock, type Clock } from '../../application/clock.js';
import type { CommandTriage } from '../../application/commerce/triage/command-triage.js';
import { ListCommands } from '../../application/commerce/triage/list-commands.js';
import { RetryCommands } from '../../application/commerce/triage/retry-commands.js';
import { buildApp } from '../../api/app.js';
import { ApiKeyDirectory } from '../../infrastructure/access/api-key-directory.js';
import { PgApiKeys } from '../../infrastructure/access/pg-api-keys.js';
import { RedisLoginThrottle } from '../../infrastructure/access/redis-login-throttle.js';
import { RedisIdempotencyStore } from '../../infrastructure/idempotency/redis-idempotency-store.js';
import { PgCommandOutcomes } from '../../infrastructure/persistence/pg-command-outcomes.js';
import { BullMqCommandEvents } from '../../infrastructure/queue/bullmq-command-events.js';
import { BullMqCommandJobs } from '../../infrastructure/queue/bullmq-command-jobs.js';
import { BullMqCommandRequeue } from '../../infrastructure/queue/bullmq-command-requeue.js';
import { PgCommandRecords } from '../../infrastructure/triage/pg-command-records.js';
import { BullMqCommandSender } from '../../infrastructure/queue/bullmq-command-sender.js';
import { BullMqQueueDepth } from '../../infrastructure/queue/bullmq-queue-depth.js';
import { createReadPool, PgReadModel } from '../../infrastructure/read/pg-read-model.js';
import { DurablyScheduledCommandSender, PgScheduledCommands } from '../../infrastructure/scheduling/pg-scheduled-commands.js';
import type { Config } from '../../infrastructure/config.js';
import { ORDERING_LINE_TTL_SECONDS } from '../../../queues/commands.js';
import { ALL_QUEUES } from '../../../queues/names.js';
import { checkMigrated, openPool, openQueues, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';
import { createScheduleManagement } from './scheduling.js';
import { createEmailManagement } from './mailer.js';
import { createWebhookManagement } from './webhooks.js';

export interface RunningWeb {
  app: FastifyInstance;
  /** Stops accepting connections, lets in-flight requests finish (ending waits and event streams), closes the read pool. */
  stop(): Promise<void>;
}

export type WebDeps = Pick<
  Infrastructure,
  'config' | 'logger' | 'metrics' | 'tracing' | 'pool' | 'producerConnection' | 'queues'
>;

/**
 * Command triage: the listing reads the read side (a replica when DATABASE_READ_URL is set);
 * a retry reads and marks on the primary, so it never acts on a replica's older view.
 */
export function createCommandTriage(infra: Pick<Infrastructure, 'pool' | 'queues'>, readPool: pg.Pool, clock: Clock = systemClock): CommandTriage {
  return {
    listCommands: new ListCommands(new PgCommandRecords(readPool)),
    retryCommands: new RetryCommands(new PgCommandRecords(infra.pool), new BullMqCommandRequeue(infra.queues.commands), clock),
  };
}

/** Builds the intake API on the process's infrastructure (not listening yet). */
export async function buildWeb(infra: WebDeps): Promise<RunningWeb> {
  const { config, logger } = infra;
  const readPool = createReadPool(config.databaseReadUrl ?? config.databaseUrl, 10, {
    onError: (error) => logger.warn({ err: error }, 'idle read connection failed'),
  });
  // System-wide gauges, read at scrape time: queue depth from Redis, the outbox from PostgreSQL.
  infra.metrics.trackQueues(Object.values(infra.queues));
  infra.metrics.trackOutbox(infra.pool);
  // The api_keys table, read again every second (a revoked key stops working within that).
  const apiKeys = new ApiKeyDirectory(new PgApiKeys(infra.pool), {
    onError: (error) => logger.warn({ err: error }, 'could not read the API keys; the last ones read stay in force'),
    onUseNotRecorded: (error) => logger.warn({ err: error }, 'could not record when API keys were last used'),
  });
  await apiKeys.start();
  // One QueueEvents (one blocking Redis connection) for every ?wait= and event stream of the
  // process, reading the queue's events only while one of them is open.
  const commandEvents = await BullMqCommandEvents.open({ redisUrl: config.redisUrl, prefix: config.queuePrefix, logger });
  const app = await buildApp({
    config,
    logger,
    apiKeys,
    metrics: infra.metrics,
    tracingPlugin: infra.tracing?.fastifyPlugin,
    // Commands with Run-At are also written to PostgreSQL (docs/adr/0008-scheduled-commands-cancellation-live-status.md).
    commands: new DurablyScheduledCommandSender(
      new BullMqCommandSender(infra.queues.commands, {
        ...(config.commandOrdering
          ? {
              ordering: {
                redis: infra.producerConnection,
                ttlSeconds: ORDERING_LINE_TTL_SECONDS,
                onLineNotStarted: ({ commandId, orderingKey, error }) =>
                  logger.error({ err: error, commandId, orderingKey }, 'command queued, but its ordering line could not be started: its successors will not wait for it'),
              },
            }
          : {}),
      }),
      new PgScheduledCommands(infra.pool),
    ),
    idempotency: new RedisIdempotencyStore(infra.producerConnection, { prefix: config.queuePrefix }),
    readModel: new PgReadModel(readPool),
    commandJobs: new BullMqCommandJobs(infra.queues.commands, infra.producerConnection),
    queueDepth: new BullMqQueueDepth(infra.queues.commands),
    // Fail-fast: while Redis is away the limit is not checked (logged), rather than waited for.
    rateLimitRedis: infra.producerConnection,
    commandOutcomes: new PgCommandOutcomes(infra.pool),
    commandEvents,
    commandTriage: createCommandTriage(infra, readPool),
    webhooks: createWebhookManagement(infra),
    schedules: createScheduleManagement(infra),
    emails: createEmailManagement({ pool: infra.pool, readPool, queues: infra.queues }),
    queues: Object.values(infra.queues),
    adminLogins: new RedisLoginThrottle(infra.producerConnection, { prefix: config.queuePrefix, ...config.adminLoginThrottle }),
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
      await apiKeys.stop();
      await commandEvents.close();
      await readPool.end();
    },
  };
}

/**
 * The `web` process: a fail-fast Redis connection and every queue's producer (it enqueues
 * commands and replays, and Bull Board shows them all). PostgreSQL: a plain pg pool on the
 * primary (readiness, the outbox gauge, the webhook management's plain SQL) and buildWeb's
 * read-only pool for the queries on DATABASE_READ_URL — a replica, another database; when it
 * is unset that pool goes to the primary too, because its sessions are read-only with a
 * statement timeout, which the writing pool's must not be. No ORM pool: the migration check
 * borrows a one-connection ORM and closes it before the role starts.
 */
export function startWebProcess(config: Config): Promise<RunningProcess> {
  return startRoleProcess(config, 'web', async ({ observability, resources, redis }) => {
    await checkMigrated(config);
    const pool = openPool(config, observability.logger, resources, { role: 'web' });
    const producerConnection = redis('producer');
    const queues = openQueues(ALL_QUEUES, producerConnection, observability, resources);
    const web = await buildWeb({ ...observability, pool, producerConnection, queues });
    try {
      await web.app.listen({ port: config.port, host: config.host });
    } catch (error) {
      await web.stop();
      throw error;
    }
    return web;
  });
}
