import type { Queue } from 'bullmq';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyPluginCallback,
  type FastifyPluginOptions,
  type FastifyServerOptions,
  type onRequestAsyncHookHandler,
} from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { uuidv7 } from '../infrastructure/ids.js';
import { lazyRequestLogger } from './request-logger.js';
import type { Scope } from '../application/access/principal.js';
import { systemClock } from '../application/clock.js';
import type { CommandEvents, CommandOutcomes, CommandQueue } from '../application/commerce/ports/command-control.js';
import { GetCommandStatus } from '../application/commerce/queries/get-command-status.js';
import type { CommandJobs, ReadModel } from '../application/commerce/queries/read-model.js';
import type { ScheduleManagement } from '../application/scheduling/management.js';
import type { EmailManagement } from '../application/email/management.js';
import type { CommandTriage } from '../application/commerce/triage/command-triage.js';
import { WatchCommand } from '../application/commerce/queries/watch-command.js';
import { CancelCommand } from '../application/commerce/use-cases/cancel-command.js';
import type { WebhookManagement } from '../application/webhooks/management.js';
import type { Config } from '../infrastructure/config.js';
import { bearerAuth, requireRouteScope } from './auth.js';
import { DOCS_PREFIX, registerDocs } from './docs.js';
import { IdempotencyKeys } from './idempotency.js';
import { LiveRequests } from './live.js';
import { CommandCeiling } from './load-shedding.js';
import type { ApiMetrics, CommandSender, IdempotencyStore, LoginThrottle, PrincipalDirectory, QueueDepth } from './ports.js';
import { type RateLimitRedis, registerRateLimit } from './rate-limit.js';
import { notFoundHandler, problemErrorHandler, problemResponses } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { commandTriageRoutes } from './routes/command-triage.js';
import { commandLifecycleRoutes } from './routes/command-lifecycle.js';
import { commandRoutes } from './routes/commands.js';
import { emailRoutes } from './routes/emails.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute, recordRequestMetrics } from './routes/metrics.js';
import { queryRoutes } from './routes/queries.js';
import { scheduleRoutes } from './routes/schedules.js';
import { webhookRoutes } from './routes/webhooks.js';

export type { ApiMetrics, CommandSender, IdempotencyStore, LoginThrottle, QueueDepth } from './ports.js';
export type { RateLimitRedis } from './rate-limit.js';

/** Everything the HTTP edge needs; src/main builds it for the `web` role. */
export interface ApiDeps {
  config: Config;
  /** Puts commands on the `commands` queue. */
  commands: CommandSender;
  /** The API keys of the `api_keys` table; without it only API_KEYS (development) authenticate. */
  apiKeys?: PrincipalDirectory;
  /** Where Idempotency-Keys are remembered (Redis). */
  idempotency: IdempotencyStore;
  readModel: ReadModel;
  /** What the queue knows about commands not yet processed, and how to remove a cancelled one's job. */
  commandJobs: CommandJobs & CommandQueue;
  /** Where a cancellation is recorded (processed_commands, on the primary). */
  commandOutcomes: CommandOutcomes;
  /** What the queue reports about commands' jobs across processes (?wait=, the events stream). */
  commandEvents: CommandEvents;
  /** Listing and retrying commands that failed or gave up (GET /v1/commands, POST /v1/commands/retry). */
  commandTriage: CommandTriage;
  /** The webhook endpoint use cases behind /v1/webhook-endpoints and /v1/webhook-deliveries. */
  webhooks: WebhookManagement;
  /** The recurring schedule use cases behind /v1/schedules. */
  schedules: ScheduleManagement;
  /** The email use cases behind /v1/emails: the listing and resends. */
  emails: EmailManagement;
  /** How many commands are queued, for the ceiling on them (MAX_QUEUED_COMMANDS). */
  queueDepth: QueueDepth;
  /**
   * The Redis that counts each API key's requests (RATE_LIMIT_PER_MINUTE), shared by every
   * web process. Absent: counted in this process's memory, for tests without Redis only.
   */
  rateLimitRedis?: RateLimitRedis;
  /**
   * The hook that authenticates /v1 requests and sets `request.principal`; defaults to the
   * bearer keys of API_KEYS. Tests stand in for the key store with it.
   */
  authenticate?: onRequestAsyncHookHandler;
  /** Every BullMQ queue, shown by Bull Board. */
  queues: Queue[];
  /** Failed Bull Board logins per client IP (Redis, shared by every web replica). */
  adminLogins: LoginThrottle;
  /** Named readiness checks for /health/ready (e.g. postgres, redis): resolve when ready, throw when not. */
  readiness: Record<string, () => Promise<void>>;
  /** A pino logger instance, or Fastify logger options; defaults to `{ level: config.logLevel }`. */
  logger?: FastifyBaseLogger | FastifyServerOptions['logger'];
  /** Id generator for command and aggregate ids; defaults to UUIDv7. */
  newId?: () => string;
  /** Prometheus metrics: with them, every request is timed and GET /metrics serves them; without, neither. */
  metrics?: ApiMetrics;
  /**
   * The OpenTelemetry plugin (@fastify/otel), registered before any route so each request
   * gets a server span; absent when tracing is off.
   */
  tracingPlugin?: FastifyPluginCallback;
}

/** docs/design.md §3: request bodies over 256 KiB are refused with 413. */
export const BODY_LIMIT = 256 * 1024;

export const ADMIN_PREFIX = '/admin/queues';

function isLoggerInstance(logger: ApiDeps['logger']): logger is FastifyBaseLogger {
  return typeof logger === 'object' && logger !== null && typeof (logger as Partial<FastifyBaseLogger>).child === 'function';
}

/** TRUST_PROXY as Fastify takes it: a number of hops becomes the function proxy-addr would make of it. */
function trustedProxies(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/**
 * Builds the intake API (not listening: the composition root calls `listen`, tests call
 * `inject`). Errors are problem+json everywhere; /v1 needs a bearer API key with the route's
 * scope; /health, /metrics and /docs are public; /admin/queues (read-only) needs the admin login.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = deps.logger ?? { level: config.logLevel };
  const options = {
    bodyLimit: BODY_LIMIT,
    // Errors raised before routing (a malformed URL) get problem+json too.
    frameworkErrors: problemErrorHandler,
    // A request's child logger is made when it first writes a line at an enabled level.
    childLoggerFactory: lazyRequestLogger,
    // Behind a proxy, the client is the one X-Forwarded-For names (TRUST_PROXY): request.ip, by
    // which Bull Board's login throttle and the rate limit of requests without a key count.
    trustProxy: trustedProxies(config.trustProxy),
  };
  const app: FastifyInstance = isLoggerInstance(logger)
    ? Fastify({ ...options, loggerInstance: logger })
    : Fastify({ ...options, logger });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler(notFoundHandler);
  acceptJsonOnly(app);
  if (deps.tracingPlugin) await app.register(deps.tracingPlugin);
  if (deps.metrics) {
    recordRequestMetrics(app, deps.metrics);
    await app.register(metricsRoute, { metrics: deps.metrics });
  }

  // Waits and event streams end (with the status as it is) when the server closes, so they do
  // not hold up a graceful shutdown.
  const live = new LiveRequests();
  app.addHook('preClose', async () => live.stopAll());

  await registerDocs(app, [DOCS_PREFIX, ADMIN_PREFIX]);
  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(adminRoutes, {
    queues: deps.queues,
    admin: config.admin,
    loginThrottle: deps.adminLogins,
    basePath: ADMIN_PREFIX,
  });
  await app.register(async (v1) => {
    v1.decorateRequest('callerId', '');
    v1.decorateRequest('principal', null);
    v1.addHook('onRequest', deps.authenticate ?? bearerAuth(config.apiKeys, deps.apiKeys));
    // After authentication: requests are counted per key, a 403 for a missing scope included
    // (docs/adr/0012-rate-limits-and-load-shedding.md).
    await registerRateLimit(v1, {
      defaultPerMinute: config.rateLimitPerMinute,
      redis: deps.rateLimitRedis,
      keyPrefix: `${config.queuePrefix}:ratelimit:`,
    });
    v1.addHook('onRequest', requireRouteScope());
    const commandStatus = new GetCommandStatus(deps.readModel, deps.commandJobs);
    const watch = new WatchCommand(commandStatus, deps.commandEvents);
    const cancel = new CancelCommand(commandStatus, deps.commandOutcomes, deps.commandJobs, systemClock);
    await withScope(v1, 'commands:write', commandRoutes, {
      commands: deps.commands,
      ceiling: new CommandCeiling(deps.queueDepth, config.maxQueuedCommands),
      idempotency: new IdempotencyKeys(deps.idempotency),
      newId: deps.newId ?? (() => uuidv7()),
    });
    await withScope(v1, 'queries:read', queryRoutes, { readModel: deps.readModel, commandStatus, watch, live });
    await withScope(v1, 'queries:read', commandLifecycleRoutes, { commandStatus, cancel, watch, live });
    await withScope(v1, 'operations', commandTriageRoutes, { triage: deps.commandTriage });
    await withScope(v1, 'webhooks:manage', webhookRoutes, { webhooks: deps.webhooks });
    await withScope(v1, 'operations', scheduleRoutes, { schedules: deps.schedules, readModel: deps.readModel, commandJobs: deps.commandJobs });
    await withScope(v1, 'operations', emailRoutes, { emails: deps.emails });
  });
  return app;
}

/**
 * Registers `plugin`'s routes with `scope` as the scope a key needs for them, unless a route
 * names its own (`config.scope`).
 */
async function withScope<Options extends FastifyPluginOptions>(
  v1: FastifyInstance,
  scope: Scope,
  plugin: FastifyPluginAsync<Options>,
  options: Options,
): Promise<void> {
  await v1.register(async (scoped) => {
    scoped.addHook('onRoute', (route) => {
      const routeScope = route.config?.scope ?? scope;
      const scopes = typeof routeScope === 'string' ? [routeScope] : routeScope;
      route.config = { ...route.config, scope: routeScope, scopes };
      if (route.schema) {
        route.schema.response = { ...problemResponses(403), ...(route.schema.response as object | undefined) };
        const named = scopes.map((s) => `\`${s}\``);
        const needs = `Needs an API key with the ${named.join(' and the ')} scope.`;
        route.schema.description = route.schema.description ? `${route.schema.description}\n\n${needs}` : needs;
      }
    });
    await scoped.register(plugin, options);
  });
}

/**
 * JSON is the only request media type: other types get 415 (Fastify would otherwise parse
 * text/plain into a string). An empty JSON body counts as no body, so `{}`-bodied commands
 * may be sent without one.
 */
function acceptJsonOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    // Fastify's parser is synchronous: it reports through `done`.
    void parseJson(request, text, done);
  });
}
