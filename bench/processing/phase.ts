import pg from 'pg';
import type { Queue } from 'bullmq';
import { commandJob } from '../../queues/commands.js';
import { QUEUES } from '../../queues/names.js';
import { clearStage, newStage, type BenchContext } from '../lib/context.js';
import { benchEntry } from '../lib/paths.js';
import { machineBusySeconds, runToResult, sleep, type NodeProcess } from '../lib/processes.js';
import { placeOrderPayload, seedCatalog, type Catalog } from '../lib/seed.js';
import { steadyRate, summarize, type Summary } from '../lib/stats.js';
import { startRole, withQueue } from '../lib/system.js';
import type { CapturedStatement } from './capture.js';

export interface ProcessingResult {
  /** PlaceOrder commands completed per second by one worker process. */
  worker: Summary;
  /** The same statements in transactions over plain pg, same concurrency. */
  bare: Summary;
  /** worker ÷ bare, from the medians. */
  ratio: number;
  commandsPerRound: number;
  concurrency: number;
  /** CPU ms per command: the worker process, and the bare script (PostgreSQL's own not included). */
  cpuMsPerCommand: { worker: Summary; bare: Summary };
  machineBusyCores: Summary;
  /** Commands that failed (should be 0: the catalog has stock for all). */
  failed: number;
  /** The statements of one PlaceOrder, as captured and replayed. */
  statements: string[];
  memory: { worker: { peakMiB: number; idleRssMiB: number } };
}

/**
 * Processing: PlaceOrder commands completed per second by one worker process (its configured
 * WORKER_CONCURRENCY), against a bare replay of the same SQL over pg with the same number of
 * transactions in flight. Each worker round queues a batch while the queue is paused, then
 * resumes it; the rate is taken from the processed_at of the batch's rows (10th to 90th
 * percentile, so start-up and the draining tail are left out).
 */
export async function processingPhase(context: BenchContext): Promise<ProcessingResult> {
  const databaseUrl = await context.dbs.create('processing');
  const catalog = await seedCatalog(databaseUrl);
  const stage = await newStage(context, 'processing', databaseUrl);

  const capture = await runToResult<{ statements: CapturedStatement[]; input: unknown }>(
    'capture',
    benchEntry('processing/capture.js'),
    { env: { DATABASE_URL: databaseUrl, BENCH_CATALOG: JSON.stringify(catalog) }, logDir: context.logDir },
  );
  context.log(`processing: captured ${capture.statements.length} statements per PlaceOrder`);

  const worker = await startRole('worker', stage, { nodeFlags: context.nodeFlags });
  context.track(worker.process);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();

  try {
    return await withQueue(stage, QUEUES.commands, async (queue) => {
      // Enough to get MikroORM's and BullMQ's hot paths compiled before anything is measured.
      const warm = await workerRound(queue, worker.process, db, catalog, 1000);
      const commandsPerRound = Math.min(20_000, Math.max(1000, Math.round(warm.rate * context.seconds)));
      context.log(`processing: warm-up ${warm.rate.toFixed(0)}/s; ${commandsPerRound} commands per round`);

      const rates = { worker: [] as number[], bare: [] as number[] };
      const cpu = { worker: [] as number[], bare: [] as number[] };
      const busy: number[] = [];
      let failed = warm.failed;
      for (let round = 1; round <= context.rounds; round += 1) {
        const runs = {
          worker: async () => {
            const run = await workerRound(queue, worker.process, db, catalog, commandsPerRound);
            failed += run.failed;
            return run;
          },
          bare: () =>
            runToResult<{ perSecond: number; cpuMsPerCommand: number }>('pg-replay', benchEntry('processing/pg-replay.js'), {
              args: [String(context.seconds), String(context.concurrency)],
              env: {
                DATABASE_URL: databaseUrl,
                BENCH_CAPTURE: JSON.stringify(capture),
                BENCH_CATALOG: JSON.stringify(catalog),
              },
              logDir: context.logDir,
            }).then((run) => ({ rate: run.perSecond, cpuMs: run.cpuMsPerCommand })),
        };
        const order = round % 2 === 1 ? (['worker', 'bare'] as const) : (['bare', 'worker'] as const);
        for (const variant of order) {
          const busyBefore = machineBusySeconds();
          const started = performance.now();
          const run = await runs[variant]();
          busy.push(((machineBusySeconds() - busyBefore) * 1000) / (performance.now() - started));
          rates[variant].push(run.rate);
          cpu[variant].push(run.cpuMs);
          context.log(`processing: round ${round} ${variant.padEnd(6)} ${run.rate.toFixed(0)}/s, ${run.cpuMs.toFixed(3)} CPU ms each`);
        }
      }
      const workerSummary = summarize(rates.worker);
      const bareSummary = summarize(rates.bare);
      return {
        worker: workerSummary,
        bare: bareSummary,
        ratio: workerSummary.median / bareSummary.median,
        commandsPerRound,
        concurrency: context.concurrency,
        cpuMsPerCommand: { worker: summarize(cpu.worker), bare: summarize(cpu.bare) },
        machineBusyCores: summarize(busy),
        failed,
        statements: capture.statements.map((statement) => statement.text),
        memory: { worker: { peakMiB: worker.process.memory()?.peakMiB ?? Number.NaN, idleRssMiB: worker.idleRssMiB } },
      };
    });
  } finally {
    await db.end();
    await worker.process.stop();
    await clearStage(stage);
  }
}

/** Queues `count` PlaceOrder jobs on the paused queue, resumes it and waits until all are processed. */
async function workerRound(queue: Queue, worker: NodeProcess, db: pg.Client, catalog: Catalog, count: number) {
  await queue.pause();
  const payloads = Array.from({ length: count }, () => placeOrderPayload(catalog));
  for (let i = 0; i < payloads.length; i += 1000) {
    await queue.addBulk(
      payloads.slice(i, i + 1000).map((data) => commandJob('PlaceOrder', data)),
    );
  }
  const ids = payloads.map((payload) => payload.commandId);
  const cpuBefore = worker.cpu();
  await queue.resume();
  const deadline = Date.now() + 60_000 + count * 20;
  for (;;) {
    const done = Number(
      (await db.query<{ n: string }>('select count(*) as n from processed_commands where command_id = any($1::uuid[])', [ids]))
        .rows[0]?.n,
    );
    if (done >= count) break;
    if (Date.now() > deadline) throw new Error(`worker processed ${done} of ${count} commands in time`);
    await sleep(200);
  }
  const cpuMs = ((worker.cpu() - cpuBefore) * 1000) / count;
  const rows = await db.query<{ t: number; status: string }>(
    'select extract(epoch from processed_at) * 1000 as t, status from processed_commands where command_id = any($1::uuid[])',
    [ids],
  );
  return {
    rate: steadyRate(rows.rows.map((row) => Number(row.t))),
    cpuMs,
    failed: rows.rows.filter((row) => row.status !== 'succeeded').length,
  };
}
