import type { Queue } from 'bullmq';
import pg from 'pg';
import type { Config } from '../infrastructure/config.js';
import { createLogger, type Logger } from '../infrastructure/logger.js';
import { Metrics } from '../infrastructure/observability/metrics.js';
import { startMetricsServer, type MetricsServer } from '../infrastructure/observability/metrics-server.js';
import { startTracing, type Tracing } from '../infrastructure/observability/tracing.js';
import { createOrm, type MikroORM } from '../infrastructure/persistence/mikro-orm.js';
import { MikroOrmUnitOfWork } from '../infrastructure/persistence/mikro-orm-unit-of-work.js';
import { pipeliningPoolConfig } from '../infrastructure/persistence/pipelining-pool.js';
import { createQueue } from '../infrastructure/queue/queues.js';
import { createRedisConnection, type RedisConnection } from '../infrastructure/redis/connection.js';
import { ALL_QUEUES, QUEUES, type QueueName } from '../../queues/names.js';
import { StartupError, type RunningProcess } from './lifecycle.js';
import { reportCheckedOutErrors } from '../infrastructure/persistence/pool-errors.js';

// The adapters a process may open, each built on its own so that a role's composition root
// (src/main/roles/*) opens only what that role uses, and closes it in reverse order.
//
// PostgreSQL pools: MikroORM 7 cannot share a pg.Pool with the plain-SQL adapters.
// @mikro-orm/postgresql's PostgreSqlConnection.createKyselyDialect builds `new Pool(options)`
// itself; `driverOptions` is merged into those options, or replaces the dialect with a Kysely
// instance or dialect of the caller's. Either way the pool's type parsers differ: MikroORM
// sets date, timestamp, timestamptz and interval to stay strings (createPostgreSqlTypeParsers),
// while the plain-SQL adapters (relay, sweeper, stores, read model) rely on pg's defaults
// (timestamptz → Date). So each role opens one pool on the primary: the ORM's in the worker
// (the unit of work), a plain pg pool in every other role (their adapters are plain SQL). Web
// adds the read-only pool of the queries (DATABASE_READ_URL, a replica when set).

/** Everything a process may open; a role's dependencies are a Pick of it, never all of it. */
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

/** What every process has: its configuration, logger, metrics and (optionally) tracing. */
export type Observability = Pick<Infrastructure, 'config' | 'logger' | 'metrics' | 'metricsServer' | 'tracing'>;

/** Process roles whose only HTTP port is the metrics server (web serves /metrics on its own port). */
const METRICS_SERVER_ROLES: ReadonlySet<string> = new Set(['worker', 'relay', 'mailer', 'webhooks']);

export interface InfrastructureOptions {
  /** Tracing built by the caller (tests, with an in-memory exporter); the caller shuts it down. */
  tracing?: Tracing;
  /** Serve metrics on METRICS_PORT whatever the role (tests); default: only the worker roles do. */
  serveMetrics?: boolean;
}

/**
 * What a process opened, closed in reverse order (each failure is ignored: the rest still
 * close). A process that fails half-way through start-up closes what it had opened so far.
 */
export class Resources {
  private readonly closers: (() => Promise<unknown>)[] = [];

  add(close: () => Promise<unknown>): void {
    this.closers.push(close);
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      await close().catch(() => undefined);
    }
  }

  /** Runs `open`; if it throws, closes everything opened so far and throws on. */
  async opening<T>(open: () => Promise<T>): Promise<T> {
    try {
      return await open();
    } catch (error) {
      await this.close();
      throw error;
    }
  }
}

export async function startObservability(
  config: Config,
  role: string,
  resources: Resources,
  options: InfrastructureOptions = {},
): Promise<Observability> {
  const logger = createLogger({ level: config.logLevel, role });
  if (config.defaultsApplied.length > 0) {
    logger.warn({ defaults: config.defaultsApplied }, 'development defaults applied (set these in production)');
  }
  // Tracing first: the queues take its BullMQ hooks. Closed last, so the spans of the
  // shutdown itself are flushed too.
  const ownTracing = !options.tracing && config.otel ? startTracing({ serviceName: config.otel.serviceName ?? `conveyor-${role}`, role }) : undefined;
  if (ownTracing) {
    resources.add(() => ownTracing.shutdown());
    logger.info({ endpoint: config.otel?.endpoint }, 'tracing on: spans exported over OTLP/HTTP');
  }
  const metrics = new Metrics({ logger });
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined && (options.serveMetrics ?? METRICS_SERVER_ROLES.has(role))) {
    try {
      metricsServer = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host, logger });
    } catch (error) {
      throw new StartupError(`cannot serve metrics on ${config.host}:${config.metricsPort} (METRICS_PORT): ${(error as Error).message}`);
    }
    const server = metricsServer;
    resources.add(() => server.close());
  }
  return { config, logger, metrics, metricsServer, tracing: options.tracing ?? ownTracing };
}

/** PostgreSQL connections a role needs for its concurrency (jobs, or the API's requests). */
function poolSize(config: Config): number {
  return Math.max(config.workerConcurrency + 2, 10);
}

/**
 * What pg_stat_activity's application_name shows for a role's connections, so an operator sees
 * which process holds a connection or waits on a lock; a name in DATABASE_URL
 * (`?application_name=`) or PGAPPNAME wins (pg's fallback_application_name, as libpq's).
 */
export function applicationName(role: string): string {
  return `conveyor-${role}`;
}

/** MikroORM and its pool, after checking that the database is migrated. */
export async function openOrm(config: Config, role: string, resources: Resources): Promise<Pick<Infrastructure, 'orm' | 'uow'>> {
  const orm = await createOrm({ databaseUrl: config.databaseUrl, poolSize: poolSize(config), applicationName: applicationName(role) });
  resources.add(() => orm.close(true));
  await refuseUnmigrated(orm);
  const uow = new MikroOrmUnitOfWork(orm, undefined, {
    maxBatch: config.commandGroupMax,
    maxConcurrentBatches: config.commandGroupTransactions,
    pipelined: config.commandPipelining,
  });
  return { orm, uow };
}

/**
 * For a role without the ORM: the same check on a MikroORM that holds one connection only
 * while it looks (the migrator needs MikroORM), closed before the role starts.
 */
export async function checkMigrated(config: Config): Promise<void> {
  const orm = await createOrm({ databaseUrl: config.databaseUrl, poolSize: 1 });
  try {
    await refuseUnmigrated(orm);
  } finally {
    await orm.close(true);
  }
}

async function refuseUnmigrated(orm: MikroORM): Promise<void> {
  const pending = await orm.migrator.getPending();
  if (pending.length > 0) {
    throw new StartupError(
      `the database has ${pending.length} pending migration(s) (${pending.map((m) => m.name).join(', ')}): ` +
        'run the release process (npm run db:migrate) first',
    );
  }
}

/**
 * A plain pg pool on the primary, for the roles' plain SQL; `pipeline` makes its clients
 * pipeline their queries, joined per turn (pipeliningPoolConfig).
 */
export function openPool(
  config: Config,
  logger: Logger,
  resources: Resources,
  options: { role: string; pipeline?: boolean; relay?: boolean },
): pg.Pool {
  // A relay that makes first attempts (ADR 0024) holds a connection for each email it is
  // sending, on top of what its own statements, sweepers and retention need.
  const attempts = options.relay && config.relayFirstAttempt ? config.workerConcurrency : 0;
  const base: pg.PoolConfig = {
    connectionString: config.databaseUrl,
    max: poolSize(config) + attempts,
    fallback_application_name: applicationName(options.role),
  };
  const pool = new pg.Pool(options.pipeline ? pipeliningPoolConfig(base) : base);
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
  reportCheckedOutErrors(pool, (error) => logger.warn({ err: error }, 'PostgreSQL connection in use failed'));
  resources.add(async () => {
    await pool.end();
    // pool.end() resolves once its clients were asked to end; a pipelining client's Terminate
    // is held until the turn ends (ADR 0022), so let it go out before the process may exit.
    if (options.pipeline) await new Promise((resolve) => setImmediate(resolve));
  });
  return pool;
}

/**
 * A Redis connection: `worker` blocks and retries forever (BullMQ workers), `producer` fails
 * fast (the API answers 503). Connection errors go to the structured log (one line per outage
 * per connection); ioredis reconnects by itself, and callers see the failure where it matters.
 */
export function openRedis(
  config: Config,
  role: string,
  kind: 'worker' | 'producer',
  logger: Logger,
  resources: Resources,
): RedisConnection {
  const connection = createRedisConnection({
    url: config.redisUrl,
    role: kind,
    connectionName: kind === 'worker' ? `conveyor:${role}` : `conveyor:${role}:producer`,
  });
  let down = false;
  connection.on('error', (error: Error) => {
    if (!down) logger.warn({ err: error, connection: kind }, 'Redis connection lost; reconnecting');
    down = true;
  });
  connection.on('ready', () => {
    if (down) logger.info({ connection: kind }, 'Redis connection back');
    down = false;
  });
  resources.add(() => connection.quit());
  return connection;
}

/** Producer-side queues with the contract's default job options and the configured job retention, on a producer connection. */
export function openQueues<N extends QueueName>(
  names: readonly N[],
  connection: RedisConnection,
  deps: Pick<Infrastructure, 'config' | 'logger' | 'tracing'>,
  resources: Resources,
): Record<N, Queue> {
  const queues = Object.fromEntries(
    names.map((name) => {
      const queue = createQueue(name, {
        connection,
        prefix: deps.config.queuePrefix,
        telemetry: deps.tracing?.bullmq,
        retention: deps.config.retention.jobs[name],
        // Attempts are fixed on a job when it is added: the producer's COMMAND_ATTEMPTS counts.
        jobOptions: name === QUEUES.commands ? { attempts: deps.config.commandAttempts } : undefined,
      });
      queue.on('error', (error) => deps.logger.debug({ err: error, queue: name }, 'queue error'));
      return [name, queue];
    }),
  ) as Record<N, Queue>;
  resources.add(() => Promise.allSettled(Object.values<Queue>(queues).map((queue) => queue.close())));
  return queues;
}

/** What a role's root opens its adapters with. */
export interface ProcessScope {
  observability: Observability;
  resources: Resources;
  /** Opens a Redis connection; the first one opened also checks Redis's eviction policy. */
  redis: (kind: 'worker' | 'producer') => RedisConnection;
}

/**
 * The root of one process role: starts its observability, lets `start` open the adapters the
 * role uses and start it, and returns how to stop it: the role first, then what it opened, in
 * reverse order. If `start` fails, what was opened so far is closed.
 */
export async function startRoleProcess(
  config: Config,
  role: string,
  start: (scope: ProcessScope) => Promise<{ stop(): Promise<void> }>,
): Promise<RunningProcess> {
  const resources = new Resources();
  return resources.opening(async () => {
    const observability = await startObservability(config, role, resources);
    const { logger } = observability;
    let checked = false;
    const redis = (kind: 'worker' | 'producer') => {
      const connection = openRedis(config, role, kind, logger, resources);
      if (!checked) void warnUnlessNoEviction(connection, logger);
      checked = true;
      return connection;
    };
    const running = await start({ observability, resources, redis });
    return {
      logger,
      async stop() {
        await running.stop();
        await resources.close();
      },
    };
  });
}

/**
 * Every adapter at once, for `npm start` (all roles in one process) and for tests that run
 * several roles on one set of connections. A process of one role uses its own root instead.
 */
export async function createInfrastructure(
  config: Config,
  role: string,
  options: InfrastructureOptions = {},
): Promise<Infrastructure> {
  const resources = new Resources();
  return resources.opening(async () => {
    const observability = await startObservability(config, role, resources, options);
    const { logger } = observability;
    const { orm, uow } = await openOrm(config, role, resources);
    const workerConnection = openRedis(config, role, 'worker', logger, resources);
    const producerConnection = openRedis(config, role, 'producer', logger, resources);
    void warnUnlessNoEviction(workerConnection, logger);
    const queues = openQueues(ALL_QUEUES, producerConnection, observability, resources);
    const pool = openPool(config, logger, resources, { role, relay: true });
    return {
      ...observability,
      orm,
      uow,
      workerConnection,
      producerConnection,
      queues,
      pool,
      close: () => resources.close(),
    };
  });
}

/**
 * BullMQ loses jobs silently if Redis evicts keys under memory pressure; it needs
 * `maxmemory-policy noeviction`. Checked once at start-up; managed services that forbid
 * CONFIG get a softer warning.
 */
export async function warnUnlessNoEviction(connection: RedisConnection, logger: Logger): Promise<void> {
  // A producer connection has no offline queue: ask once it is up, as a worker connection would.
  if (connection.status !== 'ready') await new Promise((resolve) => connection.once('ready', resolve));
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
