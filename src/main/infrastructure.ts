import type { Queue } from 'bullmq';
import pg from 'pg';
import { ConfigError, loadConfig, type Config } from '../infrastructure/config.js';
import { createLogger, type Logger } from '../infrastructure/logger.js';
import { Metrics } from '../infrastructure/observability/metrics.js';
import { startMetricsServer, type MetricsServer } from '../infrastructure/observability/metrics-server.js';
import { startTracing, type Tracing } from '../infrastructure/observability/tracing.js';
import { createOrm, type MikroORM } from '../infrastructure/persistence/mikro-orm.js';
import { MikroOrmUnitOfWork } from '../infrastructure/persistence/mikro-orm-unit-of-work.js';
import { createQueue } from '../infrastructure/queue/queues.js';
import { ALL_QUEUES, type QueueName } from '../../queues/names.js';
import { createRedisConnection, type RedisConnection } from '../infrastructure/redis/connection.js';

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
  /** The Prometheus registry of this process (web serves it on GET /metrics, workers on METRICS_PORT). */
  metrics: Metrics;
  /** The worker process's metrics server, when METRICS_PORT is set. */
  metricsServer: MetricsServer | undefined;
  /** OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes it). */
  tracing: Tracing | undefined;
  close(): Promise<void>;
}

/** Process roles whose only HTTP port is the metrics server (web serves /metrics on its own port). */
const METRICS_SERVER_ROLES: ReadonlySet<string> = new Set(['worker', 'relay', 'mailer', 'webhooks']);

export interface InfrastructureOptions {
  /** Tracing built by the caller (tests, with an in-memory exporter); the caller shuts it down. */
  tracing?: Tracing;
  /** Serve metrics on METRICS_PORT whatever the role (tests); default: only the worker roles do. */
  serveMetrics?: boolean;
}

export async function createInfrastructure(
  config: Config,
  role: string,
  options: InfrastructureOptions = {},
): Promise<Infrastructure> {
  const logger = createLogger({ level: config.logLevel, role });
  if (config.defaultsApplied.length > 0) {
    logger.warn({ defaults: config.defaultsApplied }, 'development defaults applied (set these in production)');
  }
  // Tracing first: the queues below take its BullMQ hooks.
  const ownTracing = !options.tracing && config.otel ? startTracing({ serviceName: config.otel.serviceName ?? `conveyor-${role}`, role }) : undefined;
  const tracing = options.tracing ?? ownTracing;
  if (ownTracing) logger.info({ endpoint: config.otel?.endpoint }, 'tracing on: spans exported over OTLP/HTTP');
  const metrics = new Metrics({ logger });
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined && (options.serveMetrics ?? METRICS_SERVER_ROLES.has(role))) {
    try {
      metricsServer = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host, logger });
    } catch (error) {
      await ownTracing?.shutdown();
      throw new StartupError(`cannot serve metrics on ${config.host}:${config.metricsPort} (METRICS_PORT): ${(error as Error).message}`);
    }
  }
  const orm = await createOrm({ databaseUrl: config.databaseUrl, poolSize: Math.max(config.workerConcurrency + 2, 10) });
  const pending = await orm.migrator.getPending();
  if (pending.length > 0) {
    await orm.close(true);
    await metricsServer?.close();
    await ownTracing?.shutdown();
    throw new StartupError(
      `the database has ${pending.length} pending migration(s) (${pending.map((m) => m.name).join(', ')}): ` +
        'run the release process (npm run db:migrate) first',
    );
  }
  const workerConnection = createRedisConnection({ url: config.redisUrl, role: 'worker', connectionName: `conveyor:${role}` });
  const producerConnection = createRedisConnection({
    url: config.redisUrl,
    role: 'producer',
    connectionName: `conveyor:${role}:producer`,
  });
  // Connection errors go to the structured log (rate-limited to one line per outage per
  // connection); ioredis reconnects by itself, and callers see the failure where it matters.
  for (const [name, connection] of [
    ['worker', workerConnection],
    ['producer', producerConnection],
  ] as const) {
    let down = false;
    connection.on('error', (error: Error) => {
      if (!down) logger.warn({ err: error, connection: name }, 'Redis connection lost; reconnecting');
      down = true;
    });
    connection.on('ready', () => {
      if (down) logger.info({ connection: name }, 'Redis connection back');
      down = false;
    });
  }
  void warnUnlessNoEviction(workerConnection, logger);
  const queues = Object.fromEntries(
    ALL_QUEUES.map((name) => {
      const queue = createQueue(name, { connection: producerConnection, prefix: config.queuePrefix, telemetry: tracing?.bullmq });
      queue.on('error', (error) => logger.debug({ err: error, queue: name }, 'queue error'));
      return [name, queue];
    }),
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
    metrics,
    metricsServer,
    tracing,
    async close() {
      await Promise.allSettled(Object.values(queues).map((queue) => queue.close()));
      await Promise.allSettled([workerConnection.quit(), producerConnection.quit()]);
      await Promise.allSettled([orm.close(true), pool.end()]);
      // Last: the spans of the shutdown itself are flushed too.
      await Promise.allSettled([metricsServer?.close(), ownTracing?.shutdown()]);
    },
  };
}

/** A condition that stops a process at start-up, with a message for the operator. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * BullMQ loses jobs silently if Redis evicts keys under memory pressure; it needs
 * `maxmemory-policy noeviction`. Checked once at start-up; managed services that forbid
 * CONFIG get a softer warning.
 */
export async function warnUnlessNoEviction(connection: RedisConnection, logger: Logger): Promise<void> {
  try {
    const reply = (await connection.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy !== 'noeviction') {
      logger.warn(
        { policy },
        `REDIS maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis will DROP QUEUED JOBS. ` +
          'Set maxmemory-policy noeviction.',
      );
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not read Redis maxmemory-policy; make sure it is noeviction');
  }
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
  // A StartupError (e.g. pending migrations) thrown by a top-level await is an operator's
  // problem, not a crash: print its message alone.
  process.on('uncaughtException', (error) => {
    console.error(error instanceof StartupError ? `conveyor cannot start: ${error.message}` : error);
    process.exit(1);
  });
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
