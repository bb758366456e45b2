// Peer of the processing figure: Graphile Worker (jobs in PostgreSQL), its task running the
// PlaceOrder statements on a connection of the worker's own pool (helpers.withPgClient), as its
// documentation suggests. Defaults otherwise (LISTEN/NOTIFY, no local queue).
// `node graphile-worker.js <jobs> <concurrency>`; DATABASE_URL, BENCH_CAPTURE and BENCH_CATALOG
// from the environment.
import { Logger, makeWorkerUtils, run, runMigrations } from 'graphile-worker';
import type { PlaceOrderJob } from './burn-down.js';
import { burnDownMain } from './burn-down.js';

const connectionString = process.env.DATABASE_URL ?? '';
// Warnings and errors only, as the conveyor processes run at LOG_LEVEL=warn.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`${level}: ${message}\n`);
});
const utils = await makeWorkerUtils({ connectionString, logger });

await burnDownMain({
  async setUp() {
    await runMigrations({ connectionString, logger });
  },
  async enqueue(jobs) {
    for (let i = 0; i < jobs.length; i += 1000) {
      await utils.addJobs(jobs.slice(i, i + 1000).map((payload) => ({ identifier: 'place_order', payload })));
    }
  },
  async startWorker(concurrency, handle) {
    const runner = await run({
      connectionString,
      logger,
      concurrency,
      // Its own queries (get and complete jobs) share the pool with the tasks.
      maxPoolSize: Math.max(concurrency + 2, 10),
      noHandleSignals: true,
      taskList: {
        place_order: (payload, helpers) => helpers.withPgClient((client) => handle(payload as PlaceOrderJob, client)),
      },
    });
    return () => runner.stop();
  },
  async tearDown() {
    await utils.release();
  },
});
