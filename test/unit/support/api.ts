import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type ApiDeps } from '../../../src/api/app.js';
import type { CommandSender, IdempotencyStore, LoginThrottle } from '../../../src/api/ports.js';
import type { ScheduleManagement } from '../../../src/application/scheduling/management.js';
import type { EmailManagement } from '../../../src/application/email/management.js';
import type { WebhookManagement } from '../../../src/application/webhooks/management.js';
import type { CommandTriage } from '../../../src/application/commerce/triage/command-triage.js';
import type { CommandEvents, CommandOutcomes, CommandQueue } from '../../../src/application/commerce/ports/command-control.js';
import type { CommandJobs, ReadModel } from '../../../src/application/commerce/queries/read-model.js';
import { loadConfig } from '../../../src/infrastructure/config.js';
import { createLogger, type Logger } from '../../../src/infrastructure/logger.js';
import type { CommandPayload, CommandType } from '../../../queues/index.js';
import { unwiredUseCases } from '../../support/unwired.js';

/** Every line a logger wrote, parsed. */
export class CapturedLogs {
  readonly raw: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.raw.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
      done();
    },
  });

  get lines(): Record<string, unknown>[] {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  text(): string {
    return this.raw.join('\n');
  }
}

/** The production logger (redaction and all), writing to `logs`. */
export function capturingLogger(logs: CapturedLogs, role = 'web'): Logger {
  return createLogger({ level: 'debug', role, destination: logs.stream });
}

class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly values = new Map<string, string>();
  async putIfAbsent(key: string, value: string): Promise<string | null> {
    const existing = this.values.get(key);
    if (existing !== undefined) return existing;
    this.values.set(key, value);
    return null;
  }
  async get(key: string): Promise<string | null> {
    return this.values.get(key) ?? null;
  }
  async put(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
  async deleteIfEquals(key: string, expected: string): Promise<void> {
    if (this.values.get(key) === expected) this.values.delete(key);
  }
}

const nothing = async () => null;
const unused = async (): Promise<never> => {
  throw new Error('not wired in this test');
};
const readModel: ReadModel = {
  findOrder: nothing,
  listUserOrders: unused,
  userOrderSummary: unused,
  findProduct: nothing,
  findProcessedCommand: nothing,
  findScheduledCommand: nothing,
};
const commandJobs: CommandJobs & CommandQueue = { find: nothing, remove: async () => false, wakeSuccessors: async () => undefined, fieldsOf: async () => ({}) };
const commandOutcomes: CommandOutcomes = { cancel: unused };
const commandEvents: CommandEvents = { subscribe: () => Promise.resolve(() => undefined) };
const webhooks = unwiredUseCases<WebhookManagement>(unused);
const schedules = unwiredUseCases<ScheduleManagement>(unused);
const emails = unwiredUseCases<EmailManagement>(unused);
const commandTriage = unwiredUseCases<CommandTriage>(unused);

/** Bull Board logins never throttled: unit tests do not exercise the board. */
const unthrottledLogins: LoginThrottle = { blockedFor: async () => 0, recordFailure: async () => 0 };

export const API_KEY = 'secret-key';

/** The API on in-memory ports (no Redis, no database): commands sent are kept in `sent`. */
export async function inMemoryApi(
  overrides: Partial<ApiDeps> = {},
): Promise<{ app: FastifyInstance; sent: { type: CommandType; payload: CommandPayload }[] }> {
  const sent: { type: CommandType; payload: CommandPayload }[] = [];
  const commands: CommandSender = {
    async send(type, payload) {
      sent.push({ type, payload });
    },
  };
  const config = loadConfig({
    NODE_ENV: 'test',
    API_KEYS: API_KEY,
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'admin-password',
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp({
    config,
    commands,
    idempotency: new MemoryIdempotencyStore(),
    readModel,
    commandJobs,
    // Nothing consumes `sent`: what was sent is what is queued.
    queueDepth: { queuedCommands: async () => sent.length },
    commandOutcomes,
    commandEvents,
    webhooks,
    schedules,
    emails,
    commandTriage,
    queues: [],
    adminLogins: unthrottledLogins,
    readiness: {},
    logger: false,
    ...overrides,
  });
  return { app, sent };
}
