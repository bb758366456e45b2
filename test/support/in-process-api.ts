// The intake API in-process (buildApp, answered with app.inject) on a real Redis: real BullMQ
// queues and idempotency store, an in-memory read model. Used by test/integration/api and the
// intake fuzzing of test/faults.
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { QUEUES, type QueueName } from '../../queues/index.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { type ApiDeps, buildApp } from '../../src/api/app.js';
import type { CommandSender, IdempotencyStore } from '../../src/api/ports.js';
import type { ScheduleManagement } from '../../src/application/scheduling/management.js';
import type { EmailManagement } from '../../src/application/email/management.js';
import type { WebhookManagement } from '../../src/application/webhooks/management.js';
import type { CommandTriage } from '../../src/application/commerce/triage/command-triage.js';
import type {
  OrderDto,
  OrderSummaryDto,
  Page,
  ProcessedCommandDto,
  ProductDto,
  ReadModel,
  ScheduledCommandDto,
} from '../../src/application/commerce/queries/read-model.js';
import type { CommandOutcome, CommandOutcomes } from '../../src/application/commerce/ports/command-control.js';
import { BullMqCommandEvents } from '../../src/infrastructure/queue/bullmq-command-events.js';
import { createLogger } from '../../src/infrastructure/logger.js';
import { type Config, loadConfig } from '../../src/infrastructure/config.js';
import { RedisIdempotencyStore } from '../../src/infrastructure/idempotency/redis-idempotency-store.js';
import { RedisLoginThrottle } from '../../src/infrastructure/access/redis-login-throttle.js';
import { BullMqCommandJobs } from '../../src/infrastructure/queue/bullmq-command-jobs.js';
import { BullMqCommandSender } from '../../src/infrastructure/queue/bullmq-command-sender.js';
import { BullMqQueueDepth } from '../../src/infrastructure/queue/bullmq-queue-depth.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { REDIS_URL, TEST_RATE_LIMIT_PER_MINUTE } from './config.js';
import { deleteKeys, uniquePrefix } from './redis-keys.js';
import { unwiredUseCases } from './unwired.js';

export const API_KEY = 'test-key-1';
export const OTHER_API_KEY = 'test-key-2';
export const ADMIN = { user: 'ops', password: 'correct horse battery staple' };
export const auth = { authorization: `Bearer ${API_KEY}` } as const;

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A read model kept in maps: routing tests only (the PostgreSQL one is tested elsewhere). */
export class InMemoryReadModel implements ReadModel {
  readonly orders = new Map<string, OrderDto>();
  readonly products = new Map<string, ProductDto>();
  readonly processed = new Map<string, ProcessedCommandDto>();
  readonly scheduled = new Map<string, ScheduledCommandDto>();
  readonly summaryCalls: { userId: string; from: Date | null; to: Date | null }[] = [];

  async findOrder(orderId: string): Promise<OrderDto | null> {
    return this.orders.get(orderId) ?? null;
  }

  async listUserOrders(userId: string, page: number, pageSize: number): Promise<Page<OrderDto>> {
    const all = [...this.orders.values()].filter((order) => order.userId === userId);
    return { items: all.slice((page - 1) * pageSize, page * pageSize), total: all.length, page, pageSize };
  }

  async userOrderSummary(userId: string, from: Date | null, to: Date | null): Promise<OrderSummaryDto> {
    this.summaryCalls.push({ userId, from, to });
    const orders = [...this.orders.values()].filter(
      (order) =>
        order.userId === userId &&
        (!from || Date.parse(order.placedAt) >= from.getTime()) &&
        (!to || Date.parse(order.placedAt) < to.getTime()),
    );
    const spent = orders
      .filter((order) => order.status !== 'cancelled')
      .reduce((sum, order) => sum + Math.round(Number(order.total.amount) * 100), 0);
    const count = orders.length;
    return {
      totalOrders: count,
      totalSpent: (spent / 100).toFixed(2),
      averageOrderValue: count === 0 ? '0.00' : (spent / count / 100).toFixed(2),
      currency: orders[0]?.total.currency ?? null,
    };
  }

  async findProduct(productId: string): Promise<ProductDto | null> {
    return this.products.get(productId) ?? null;
  }

  async findProcessedCommand(commandId: string): Promise<ProcessedCommandDto | null> {
    return this.processed.get(commandId) ?? null;
  }

  async findScheduledCommand(commandId: string): Promise<ScheduledCommandDto | null> {
    return this.scheduled.get(commandId) ?? null;
  }
}

/** Cancellations recorded in the in-memory read model, first outcome wins (as the primary key does in PostgreSQL). */
export class InMemoryCommandOutcomes implements CommandOutcomes {
  constructor(private readonly readModel: InMemoryReadModel) {}

  async cancel(command: { commandId: string; commandType: string }, at: Date): Promise<CommandOutcome> {
    const existing = this.readModel.processed.get(command.commandId);
    if (existing) return existing.status;
    this.readModel.processed.set(command.commandId, {
      commandId: command.commandId,
      type: command.commandType,
      status: 'cancelled',
      result: null,
      error: { code: 'command_cancelled', message: 'cancelled before it ran' },
      processedAt: at.toISOString(),
    });
    return 'cancelled';
  }
}

/**
 * Webhook, schedule, email and triage use cases for apps whose tests have no database: any call
 * is a test bug. Their routes are tested with the real ones (webhook-endpoints.test.ts,
 * schedules.test.ts, emails.test.ts, command-triage tests).
 */
function unwired(): never {
  throw new Error('these use cases are not wired in this test: pass `webhooks`, `schedules`, `emails` or `commandTriage` to startApi');
}
const UNWIRED_WEBHOOKS = unwiredUseCases<WebhookManagement>(async () => unwired());
const UNWIRED_SCHEDULES = unwiredUseCases<ScheduleManagement>(async () => unwired());
const UNWIRED_EMAILS = unwiredUseCases<EmailManagement>(async () => unwired());
const UNWIRED_TRIAGE = unwiredUseCases<CommandTriage>(async () => unwired());

/** What dependencies built by the test can use: the app's config and its queues. */
export interface ApiContext {
  config: Config;
  queues: Record<QueueName, Queue>;
}

export interface TestApi {
  app: FastifyInstance;
  prefix: string;
  config: Config;
  connection: Redis | Cluster;
  commands: Queue;
  webhooks: Queue;
  queues: Queue[];
  store: RedisIdempotencyStore;
  readModel: InMemoryReadModel;
  close(): Promise<void>;
}

/**
 * The app wired to a real Redis: real BullMQ queues, the real idempotency store, the
 * in-memory read model. `overrides` replace single dependencies; pass a function to build them
 * from the app's config and queues. `env` adds to the configuration's environment.
 */
export async function startApi(
  overrides: Partial<ApiDeps> | ((context: ApiContext) => Partial<ApiDeps>) = {},
  prefix = uniquePrefix('api'),
  env: Record<string, string> = {},
): Promise<TestApi> {
  const config = loadConfig({
    NODE_ENV: 'test',
    QUEUE_PREFIX: prefix,
    REDIS_URL,
    API_KEYS: `${API_KEY},${OTHER_API_KEY}`,
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'silent',
    // Fuzzing and the ordering rounds send far more than a shop would; the limit itself is
    // tested with its own (test/integration/api/rate-limits.test.ts).
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    ...env,
  });
  const connection = createRedisConnection({ url: REDIS_URL, role: 'producer', connectionName: prefix });
  const byName: Record<QueueName, Queue> = {
    commands: createQueue(QUEUES.commands, { connection, prefix }),
    emails: createQueue(QUEUES.emails, { connection, prefix }),
    webhooks: createQueue(QUEUES.webhooks, { connection, prefix }),
    maintenance: createQueue(QUEUES.maintenance, { connection, prefix }),
  };
  const queues = Object.values(byName);
  const commands = byName.commands;
  const store = new RedisIdempotencyStore(connection, { prefix });
  const readModel = new InMemoryReadModel();
  const sender: CommandSender = new BullMqCommandSender(commands);
  const idempotency: IdempotencyStore = store;
  const commandEvents = await BullMqCommandEvents.open({ redisUrl: REDIS_URL, prefix, logger: createLogger({ level: 'silent', role: 'test' }) });
  const app = await buildApp({
    config,
    commands: sender,
    idempotency,
    readModel,
    commandJobs: new BullMqCommandJobs(commands, connection),
    queueDepth: new BullMqQueueDepth(commands),
    rateLimitRedis: connection,
    commandOutcomes: new InMemoryCommandOutcomes(readModel),
    commandEvents,
    queues,
    adminLogins: new RedisLoginThrottle(connection, { prefix, ...config.adminLoginThrottle }),
    webhooks: UNWIRED_WEBHOOKS,
    schedules: UNWIRED_SCHEDULES,
    emails: UNWIRED_EMAILS,
    commandTriage: UNWIRED_TRIAGE,
    readiness: { redis: async () => void (await connection.ping()) },
    logger: false,
    ...(typeof overrides === 'function' ? overrides({ config, queues: byName }) : overrides),
  });
  return {
    app,
    prefix,
    config,
    connection,
    commands,
    webhooks: byName.webhooks,
    queues,
    store,
    readModel,
    async close() {
      await app.close();
      await commandEvents.close();
      for (const queue of queues) {
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await deleteKeys(prefix, connection);
      await connection.quit();
    },
  };
}

/**
 * One app for the test file: started in beforeAll (the object returned is filled in then),
 * closed in afterAll. With `emptyCommandsBeforeEach`, each test starts on an empty commands
 * queue.
 */
export function apiForFile(options: { emptyCommandsBeforeEach?: boolean } = {}): TestApi {
  const api = {} as TestApi;
  beforeAll(async () => {
    Object.assign(api, await startApi());
  });
  afterAll(async () => {
    await api.close?.();
  });
  if (options.emptyCommandsBeforeEach) {
    beforeEach(async () => {
      await api.commands.obliterate({ force: true });
    });
  }
  return api;
}

/** Every job currently on the queue (nothing consumes the test queues). */
/** POSTs `payload` exactly as given (a string, not encoded again) to `url`, with the test token and `contentType`. */
export function postRaw(api: TestApi, url: string, payload: string, contentType = 'application/json') {
  return api.app.inject({ method: 'POST', url, headers: { ...auth, 'content-type': contentType }, payload });
}

export async function allJobs(queue: Queue) {
  return queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed', 'waiting-children']);
}

export function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  const contentType = String(response.headers['content-type']);
  if (!contentType.startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${contentType}: ${JSON.stringify(response.json())}`);
  }
  return response.json() as {
    type: string;
    title: string;
    status: number;
    detail: string;
    instance?: string;
    code?: string;
    errors?: { in: string; path: string; message: string }[];
    [extension: string]: unknown;
  };
}
