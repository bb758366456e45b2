// The `webhooks` process alone on a backlog: CPU per delivery and round trips per delivery.
// `node dist/bench/pipeline/webhooks-backlog.js [count] [endpoints] [rounds]` makes a migrated
// database, starts the bench's receiver (receiver.ts) and, per round, a webhooks process (this
// file with `--worker`: the role's own code, startRoleProcess + startWebhooks, LOG_LEVEL=warn,
// WORKER_CONCURRENCY=16 as the bench runs it), then writes `count` pending deliveries spread
// over `endpoints` endpoints and adds their jobs as the relay does. The worker reports its
// process.cpuUsage() from the first job added to the last job finished, and the socket writes
// it made to PostgreSQL, Redis and the receiver (a write per round trip, give or take).
// NODE_OPTIONS=--cpu-prof reaches the worker (fork inherits it): its profile is the worker's.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { uuidv7 } from '../../src/infrastructure/ids.js';
import { WEBHOOK_JOB_NAME, webhookJobOptions } from '../../queues/webhooks.js';
import { QUEUES } from '../../queues/names.js';
import { loadConfig, type Config } from '../../src/infrastructure/config.js';
import { buildWebhookBody } from '../../src/infrastructure/webhooks/payload.js';
import { PostgresWebhookRepository } from '../../src/infrastructure/webhooks/postgres-webhook-repository.js';
import { WebhookSecretCipher } from '../../src/infrastructure/webhooks/secret-cipher.js';
import { generateWebhookSecret } from '../../src/infrastructure/webhooks/signing.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { startRoleProcess, checkMigrated, openPool } from '../../src/main/infrastructure.js';
import { startWebhooks } from '../../src/main/roles/webhooks.js';
import { adminQuery, databaseUrl } from '../lib/database.js';
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import type { ReceiverReply } from './receiver.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type ToWorker = { type: 'go' } | { type: 'stop' };
type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; cpuMs: number; userMs: number; wallMs: number; completed: number; failed: number; writes: Record<string, number> };

function env(database: string, prefix: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    DATABASE_URL: database,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    HOST: '127.0.0.1',
    API_KEYS: 'bench-key',
    ADMIN_USER: 'bench',
    ADMIN_PASSWORD: 'bench-admin-password',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_DELIVERY_RATE: '1000',
    WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '16',
    LOG_LEVEL: 'warn',
  };
}

if (process.argv.includes('--worker')) await runWorker();
else await runParent();

// ---- the webhooks process

async function runWorker(): Promise<void> {
  const total = Number(process.env.BENCH_COUNT);
  // Socket writes by peer port: PostgreSQL, Redis, anything else (the receiver).
  const writes: Record<string, number> = { postgres: 0, redis: 0, receiver: 0 };
  const socket = net.Socket.prototype;
  const write: (this: net.Socket, ...args: never[]) => boolean = Reflect.get(socket, 'write');
  const uncork: (this: net.Socket) => void = Reflect.get(socket, 'uncork');
  const count = (socket: net.Socket) => {
    const port = socket.remotePort;
    const peer = port === 5432 ? 'postgres' : port === 6379 ? 'redis' : 'receiver';
    writes[peer] = (writes[peer] ?? 0) + 1;
  };
  // A write while the socket is corked (pg's extended query) goes out with the uncork.
  socket.write = function (this: net.Socket, ...args: unknown[]) {
    if (this.writableCorked === 0) count(this);
    return write.apply(this, args as never[]);
  };
  socket.uncork = function (this: net.Socket) {
    if (this.writableCorked === 1) count(this);
    uncork.call(this);
  };
  const config = loadConfig(process.env);
  let completed = 0;
  let failed = 0;
  let started: { cpu: NodeJS.CpuUsage; at: number } | undefined;
  const send = (message: FromWorker) => process.send?.(message);
  const running = await startRoleProcess(config, 'webhooks', async ({ observability, resources, redis }) => {
    await checkMigrated(config);
    const pool = openPool(config, observability.logger, resources, { role: 'webhooks' });
    const worker = startWebhooks({ ...observability, pool, workerConnection: redis('worker') });
    const finished = () => {
      if (started && completed + failed === total) {
        const cpu = process.cpuUsage(started.cpu);
        send({ type: 'done', cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, wallMs: performance.now() - started.at, completed, failed, writes });
      }
    };
    worker.worker.on('completed', () => {
      completed += 1;
      finished();
    });
    worker.worker.on('failed', (job) => {
      // A throttled job moves itself to delayed (DelayedError): not finished.
      if (job && job.finishedOn) {
        failed += 1;
        finished();
      }
    });
    return worker;
  });
  process.on('message', (message: ToWorker) => {
    if (message.type === 'go') {
      for (const key of Object.keys(writes)) writes[key] = 0;
      started = { cpu: process.cpuUsage(), at: performance.now() };
    }
    if (message.type === 'stop') void running.stop().then(() => process.exit(0));
  });
  send({ type: 'ready' });
}

// ---- the orchestration

async function runParent(): Promise<void> {
  const [count = 2000, endpointCount = 4, rounds = 1] = process.argv.slice(2).map(Number);
  const id = randomBytes(4).toString('hex');
  const dbName = `whperf_${id}`;
  await adminQuery(`create database ${dbName}`);
  const url = databaseUrl(dbName);
  const redis = new Redis(REDIS_URL);
  const prefixes: string[] = [];
  const secret = generateWebhookSecret();
  const receiver = fork(fileURLToPath(new URL('./receiver.js', import.meta.url)), ['0'], {
    env: { ...process.env, NODE_OPTIONS: '', WEBHOOK_SECRET: secret },
  });
  try {
    await migrate(url);
    const port = await new Promise<number>((resolve) =>
      receiver.on('message', (m: ReceiverReply) => m.type === 'listening' && resolve(m.port)),
    );
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const baseConfig = loadConfig(env(url, `whperf-${id}-0`));
    const repository = new PostgresWebhookRepository(pool, new WebhookSecretCipher(baseConfig.webhookSecretKeys));
    const endpoints = Array.from({ length: endpointCount }, () => uuidv7());
    for (const endpointId of endpoints) {
      await repository.add({
        id: endpointId,
        url: `http://127.0.0.1:${port}/hook`,
        eventTypes: ['*'],
        secret,
        deliveryRate: null,
        createdAt: new Date(),
      });
    }
    const results: FromWorker[] = [];
    for (let round = 0; round < rounds; round++) {
      const prefix = `whperf-${id}-${round}`;
      prefixes.push(prefix);
      const config = loadConfig(env(url, prefix));
      const worker = fork(fileURLToPath(import.meta.url), ['--worker'], { env: { ...process.env, ...env(url, prefix), BENCH_COUNT: String(count) } });
      await until(worker, 'ready');
      const done = until(worker, 'done');
      worker.send({ type: 'go' } satisfies ToWorker);
      await seed(pool, config, endpoints, count);
      const result = await done;
      results.push(result);
      worker.send({ type: 'stop' } satisfies ToWorker);
      await new Promise((resolve) => worker.once('exit', resolve));
      const take = await ask(receiver);
      if (result.type === 'done') {
        const per = (n: number) => (n / count).toFixed(2);
        console.log(
          JSON.stringify({
            round,
            cpuMsPerDelivery: Number((result.cpuMs / count).toFixed(3)),
            userMsPerDelivery: Number((result.userMs / count).toFixed(3)),
            perSecond: Math.round((count / result.wallMs) * 1000),
            completed: result.completed,
            failed: result.failed,
            writesPerDelivery: { postgres: per(result.writes.postgres ?? 0), redis: per(result.writes.redis ?? 0), receiver: per(result.writes.receiver ?? 0) },
            received: take.type === 'deliveries' ? take.deliveries.length : null,
            signatures: take.type === 'deliveries' ? take.signatures : null,
          }),
        );
      }
    }
    await pool.end();
  } finally {
    receiver.disconnect();
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    }
    redis.disconnect();
    await adminQuery(`drop database if exists ${dbName} with (force)`);
  }
}

/** Pending deliveries and their jobs, written as the relay writes them. */
async function seed(pool: pg.Pool, config: Config, endpoints: string[], count: number): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = createQueue(QUEUES.webhooks, { connection, prefix: config.queuePrefix, retention: config.retention.jobs.webhooks });
  for (let from = 0; from < count; from += 500) {
    const rows = Array.from({ length: Math.min(500, count - from) }, (_, i) => {
      const eventId = uuidv7();
      const body = buildWebhookBody({
        id: eventId,
        type: 'order.placed',
        occurredAt: new Date(),
        payload: { orderId: uuidv7(), userId: uuidv7(), status: 'pending', total: { amount: '25.00', currency: 'EUR' } },
      });
      return { id: uuidv7(), endpointId: endpoints[(from + i) % endpoints.length] as string, eventId, body };
    });
    await pool.query(
      `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, next_attempt_at, created_at)
       select id, endpoint_id, event_id, 'order.placed', body, 'pending', 0, now(), now()
       from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) as t(id, endpoint_id, event_id, body)`,
      [rows.map((r) => r.id), rows.map((r) => r.endpointId), rows.map((r) => r.eventId), rows.map((r) => r.body)],
    );
    await queue.addBulk(
      rows.map((r) => ({ name: WEBHOOK_JOB_NAME, data: { deliveryId: r.id }, opts: { ...webhookJobOptions(config.webhookRetrySchedule), jobId: r.id } })),
    );
  }
  await queue.close();
  connection.disconnect();
}

function until<T extends FromWorker['type']>(child: ChildProcess, type: T): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve) => {
    const listener = (message: FromWorker) => {
      if (message.type !== type) return;
      child.off('message', listener);
      resolve(message as Extract<FromWorker, { type: T }>);
    };
    child.on('message', listener);
  });
}

function ask(receiver: ChildProcess): Promise<ReceiverReply> {
  return new Promise((resolve) => {
    receiver.once('message', resolve);
    receiver.send({ type: 'take' });
  });
}
