// Peer of the processing figure: pg-boss (jobs in PostgreSQL), `localConcurrency` workers of
// one job each, the PlaceOrder statements on a plain pg pool beside pg-boss's own. A pg-boss
// worker waits `pollingIntervalSeconds` (at least 0.5 s) after every fetch unless it is in
// burst mode, so the worker bursts while the queue's cached ready count is above one
// (`burstWhenReadyExceeds: 1`, its least), the documented way to drain a backlog; the count is refreshed
// (supervise) after the jobs are inserted and read when the worker's instance starts.
// `node pg-boss.js <jobs> <concurrency>`; DATABASE_URL, BENCH_CAPTURE and BENCH_CATALOG from
// the environment.
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import type { PlaceOrderJob } from './burn-down.js';
import { burnDownMain } from './burn-down.js';

const NAME = 'place-order';
const connectionString = process.env.DATABASE_URL ?? '';
// The producer side: schema, queue, inserts. No maintenance timers in the measured process.
const producer = new PgBoss({ connectionString, supervise: false, schedule: false });
producer.on('error', (error) => process.stderr.write(`pg-boss: ${String(error)}\n`));

await burnDownMain({
  async setUp() {
    await producer.start();
    await producer.createQueue(NAME);
  },
  async enqueue(jobs) {
    for (let i = 0; i < jobs.length; i += 1000) await producer.insert(NAME, jobs.slice(i, i + 1000).map((data) => ({ data })));
    await producer.supervise(NAME);
  },
  async startWorker(concurrency, handle) {
    const max = Math.max(concurrency + 2, 10);
    const pool = new pg.Pool({ connectionString, max });
    const boss = new PgBoss({ connectionString, max, supervise: false, schedule: false, migrate: false });
    boss.on('error', (error) => process.stderr.write(`pg-boss: ${String(error)}\n`));
    await boss.start();
    await boss.work<PlaceOrderJob>(
      NAME,
      { localConcurrency: concurrency, batchSize: 1, burstWhenReadyExceeds: 1, pollingIntervalSeconds: 0.5 },
      async ([job]) => {
        if (!job) return;
        const client = await pool.connect();
        try {
          await handle(job.data, client);
        } finally {
          client.release();
        }
      },
    );
    return async () => {
      await boss.stop({ graceful: true });
      await pool.end();
    };
  },
  async tearDown() {
    await producer.stop({ graceful: false });
  },
});
