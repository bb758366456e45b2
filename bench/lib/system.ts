import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Queue } from 'bullmq';
import pg from 'pg';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { QUEUES, type QueueName } from '../../queues/names.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { systemEntry } from './paths.js';
import { startNode, waitFor, type NodeProcess } from './processes.js';
import { REDIS_URL } from './redis.js';

export const API_KEY = 'bench-key';

/** The Procfile process types and their compiled entry points. */
export const ROLES = {
  web: 'dist/src/main/entries/web.js',
  worker: 'dist/src/main/entries/worker.js',
  relay: 'dist/src/main/entries/relay.js',
  mailer: 'dist/src/main/entries/mailer.js',
  webhooks: 'dist/src/main/entries/webhooks.js',
} as const;
export type Role = keyof typeof ROLES;

export const roleAvailable = (role: Role): boolean => existsSync(systemEntry(ROLES[role]));

/** Everything one phase's processes share: a database, a queue prefix, a place for logs. */
export interface Stage {
  databaseUrl: string;
  queuePrefix: string;
  logDir: string;
  mailDir: string;
  /** The bench's SMTP server (smtp-sink.ts) when one runs; else the mailer writes .eml files under mailDir. */
  smtpUrl?: string;
  /** LOG_LEVEL of the system's processes. */
  logLevel: string;
  workerConcurrency: number;
  /** Settings on top of the bench's own (`--env KEY=VALUE`); a phase's own `extra` still wins. */
  env?: Record<string, string>;
}

/** The environment of a system process: config.ts names, explicit values, no defaults applied. */
export function systemEnv(stage: Stage, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'development',
    DATABASE_URL: stage.databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: stage.queuePrefix,
    HOST: '127.0.0.1',
    API_KEYS: API_KEY,
    ADMIN_USER: 'bench',
    ADMIN_PASSWORD: 'bench-admin-password',
    // Without SMTP_URL the mailer composes each message and writes it under MAIL_DIR.
    ...(stage.smtpUrl ? { SMTP_URL: stage.smtpUrl } : {}),
    MAIL_DIR: stage.mailDir,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // The figures measure the pipeline, not a receiver's protection (ADR 0013): the most it allows.
    WEBHOOK_DELIVERY_RATE: '1000',
    WORKER_CONCURRENCY: String(stage.workerConcurrency),
    LOG_LEVEL: stage.logLevel,
    // The bench is one client sending thousands of commands a second with one key, and its
    // intake rounds leave their jobs queued: far past a shop's limits. Both checks still run
    // (one rate-limit script call per request, one queue count per 500 ms), so their cost is measured.
    RATE_LIMIT_PER_MINUTE: '100000000',
    MAX_QUEUED_COMMANDS: '100000000',
    ...stage.env,
    ...extra,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningRole {
  process: NodeProcess;
  /** RSS right after the role became ready, before any load (MiB). */
  idleRssMiB: number;
}

/** Starts a system role and waits until it is ready to work. */
export async function startRole(
  role: Role,
  stage: Stage,
  options: { name?: string; port?: number; nodeFlags?: string[]; env?: Record<string, string> } = {},
): Promise<RunningRole> {
  const env = systemEnv(stage, { ...(options.port ? { PORT: String(options.port) } : {}), ...options.env });
  const proc = startNode(options.name ?? role, systemEntry(ROLES[role]), {
    env,
    logDir: stage.logDir,
    ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
  });
  await waitUntilReady(role, stage, proc, options.port);
  return { process: proc, idleRssMiB: proc.memory()?.rssMiB ?? Number.NaN };
}

const QUEUE_OF: Partial<Record<Role, QueueName>> = { worker: QUEUES.commands, mailer: QUEUES.emails, webhooks: QUEUES.webhooks };

async function waitUntilReady(role: Role, stage: Stage, proc: NodeProcess, port: number | undefined): Promise<void> {
  if (role === 'web') {
    if (port === undefined) throw new Error('web needs a port');
    await waitFor(`${proc.name} /health/ready`, async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).ok, {
      process: proc,
    });
    return;
  }
  if (role === 'relay') {
    // The relay is ready once it LISTENs on the outbox channel.
    const client = new pg.Client({ connectionString: stage.databaseUrl });
    await client.connect();
    try {
      await waitFor(
        `${proc.name} LISTEN outbox`,
        async () =>
          (
            await client.query<{ n: string }>(
              `select count(*) as n from pg_stat_activity where datname = current_database() and query ilike 'listen outbox%'`,
            )
          ).rows[0]?.n !== '0',
        { process: proc },
      );
    } finally {
      await client.end();
    }
    return;
  }
  const queueName = QUEUE_OF[role];
  if (!queueName) throw new Error(`no readiness check for ${role}`);
  await withQueue(stage, queueName, async (queue) => {
    const before = 0;
    await waitFor(`${proc.name} worker on ${queueName}`, async () => (await queue.getWorkersCount()) > before, { process: proc });
  });
}

/** Runs `fn` with a producer-side queue of the stage, as the web and relay make them (closed afterwards). */
export async function withQueue<T>(stage: Pick<Stage, 'queuePrefix'>, name: QueueName, fn: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = createRedisConnection({ url: REDIS_URL, role: 'producer', connectionName: 'conveyor:bench' });
  const queue = createQueue(name, { connection, prefix: stage.queuePrefix });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
