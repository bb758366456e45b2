// The in-process roles of the integration tests: what `createInfrastructure` opens, on a
// database of their own.
import { QueueEvents, type Job, type Queue } from 'bullmq';
import type pg from 'pg';
import type { QueueName } from '../../queues/names.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { createInfrastructure, type Infrastructure, type InfrastructureOptions } from '../../src/main/infrastructure.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import type { RunningRelay } from '../../src/main/roles/relay.js';
import type { RunningWeb } from '../../src/main/roles/web.js';
import { testConfig } from './config.js';
import { createTestDatabase } from './database.js';
import { newId } from './orm.js';

/**
 * `createInfrastructure` of a test config (`overrides` on top) on a fresh database cloned from
 * the template. Its `close` closes the infrastructure, then drops the database.
 */
export async function infrastructureOnFreshDatabase(
  overrides: Record<string, string> = {},
  role = 'test',
  options?: InfrastructureOptions,
): Promise<Infrastructure> {
  const db = await createTestDatabase();
  let infra: Infrastructure;
  try {
    infra = await createInfrastructure(testConfig(db.url, overrides), role, options);
  } catch (error) {
    await db.drop();
    throw error;
  }
  return {
    ...infra,
    close: async () => {
      try {
        await infra.close();
      } finally {
        await db.drop();
      }
    },
  };
}

/**
 * Stops the web role first (no more requests), then the workers and the relay together; empties
 * every queue (jobs still delayed or waiting) and closes `infra`.
 */
export async function stopRoles(
  infra: Infrastructure,
  { web, workers = [], relay }: { web?: RunningWeb; workers?: RunningWorker[]; relay?: RunningRelay },
): Promise<void> {
  await web?.stop();
  await Promise.all([...workers.map((worker) => worker.stop(5000)), relay?.stop()]);
  for (const queue of Object.values(infra.queues)) await queue.obliterate({ force: true });
  await infra.close();
}

/** Commits `n` product.restocked events to the outbox, as a command would, and wakes the relay. */
export async function publishRestocks(pool: pg.Pool, n: number): Promise<void> {
  const ids = Array.from({ length: n }, () => newId());
  await pool.query(
    `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at)
     select id, 'product.restocked', 'product', id, jsonb_build_object('productId', id, 'quantity', 1), now()
       from unnest($1::uuid[]) as t(id)`,
    [ids],
  );
  await pool.query('notify outbox');
}

/** The events of `infra`'s queue `name` (on a connection of its own), once they are being read. */
export async function queueEventsOf(infra: Infrastructure, name: QueueName): Promise<QueueEvents> {
  const events = new QueueEvents(name, {
    connection: createRedisConnection({ url: infra.config.redisUrl, role: 'worker' }),
    prefix: infra.config.queuePrefix,
  });
  await events.waitUntilReady();
  return events;
}

/** Waits (up to `timeoutMs`) for `job` of `queue` to settle; answers its final state and the job as stored then. */
export async function settledJob(queue: Queue, events: QueueEvents, job: Job, timeoutMs: number): Promise<{ state: string; job: Job }> {
  try {
    await job.waitUntilFinished(events, timeoutMs);
  } catch {
    // a failed job rejects; its state is read below
  }
  const fresh = await queue.getJob(job.id ?? '');
  if (!fresh) throw new Error(`job ${job.id} is gone`);
  return { state: await fresh.getState(), job: fresh };
}
