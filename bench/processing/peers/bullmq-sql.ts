// Peer of the processing figure: BullMQ with the PlaceOrder statements written by hand over a
// plain pg pool — what a user would write without conveyor's unit of work. The queue uses
// conveyor's default command job options (retention, attempts), the worker BullMQ's defaults.
// `node bullmq-sql.js <jobs> <concurrency>`; DATABASE_URL, REDIS_URL, QUEUE_PREFIX,
// BENCH_CAPTURE and BENCH_CATALOG from the environment.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { commandJobOptions } from '../../../queues/commands.js';
import { DEFAULT_JOB_RETENTION, jobRetentionOptions } from '../../../queues/retention.js';
import { burnDownMain, type PlaceOrderJob } from './burn-down.js';

const NAME = 'place-order';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.QUEUE_PREFIX ?? 'bench-bullmq';
const producer = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const queue = new Queue<PlaceOrderJob>(NAME, {
  connection: producer,
  prefix,
  defaultJobOptions: {
    ...commandJobOptions,
    ...jobRetentionOptions(DEFAULT_JOB_RETENTION.commands),
    backoff: 500,
  },
});
let pool: pg.Pool;

await burnDownMain({
  async setUp() {
    await queue.waitUntilReady();
  },
  async enqueue(jobs) {
    for (let i = 0; i < jobs.length; i += 1000) {
      await queue.addBulk(jobs.slice(i, i + 1000).map((data) => ({ name: NAME, data, opts: { jobId: data.commandId } })));
    }
  },
  async startWorker(concurrency, handle) {
    // Sized as the conveyor worker's pool: max(concurrency + 2, 10).
    pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Math.max(concurrency + 2, 10) });
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const worker = new Worker<PlaceOrderJob>(
      NAME,
      async (job) => {
        const client = await pool.connect();
        try {
          await handle(job.data, client);
        } finally {
          client.release();
        }
      },
      { connection, prefix, concurrency },
    );
    await worker.waitUntilReady();
    return async () => {
      await worker.close();
      connection.disconnect();
      await pool.end();
    };
  },
  async tearDown() {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    producer.disconnect();
  },
});
