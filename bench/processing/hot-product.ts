import type { Queue } from 'bullmq';
import pg from 'pg';
import { QUEUES } from '../../queues/names.js';
import { clearStage, newStage, type BenchContext } from '../lib/context.js';
import { benchEntry } from '../lib/paths.js';
import { runToResult, sleep } from '../lib/processes.js';
import { seedCatalog, type Catalog } from '../lib/seed.js';
import { latencies, summarize, type LatencySummary, type Summary } from '../lib/stats.js';
import { freePort, startRole, withQueue } from '../lib/system.js';
import type { Accepted } from '../pipeline/http-pacer.js';
import { bareRun, captureFor, workerRound } from './phase.js';

/** The paced round runs at this share of the worker's measured rate on the hot product. */
export const HOT_PACED_SHARE = 0.7;
/** The first seconds of the paced round are left out of its percentiles (JIT, pools filling). */
const WARM_UP_MS = 2000;
/**
 * Seconds at the paced rate on the freshly started web process before the measured round: the
 * worker is warm from its burn-down rounds, the web process is not, and its first seconds at
 * several hundred requests a second are a cold start a user meets once, not the steady state
 * the target is about. Reported on their own (`coldStart`).
 */
const COLD_START_SECONDS = 4;

export interface HotProductResult {
  /** PlaceOrder (one line, always the same product) completed per second by one worker. */
  worker: Summary;
  /** The same statements over plain pg, every transaction locking the same row. */
  bare: Summary;
  /** worker ÷ bare, from the medians. */
  ratio: number;
  commandsPerRound: number;
  cpuMsPerCommand: { worker: Summary; bare: Summary };
  paced: {
    offeredPerSecond: number;
    achievedPerSecond: number;
    /** From the order's 202 reaching the client to the worker starting its job (BullMQ processedOn). */
    toUseCaseMs: LatencySummary;
    /** The same, one entry per second of the round (warm-up included, so a trend shows). */
    toUseCasePerSecond: { second: number; count: number; p50: number; p99: number }[];
    /** From the 202 to the command's processed_at (its transaction, lock wait included). */
    toCommittedMs: LatencySummary;
    /**
     * What the worker committed in each second of the round (by processed_at), and in how many
     * group transactions: one processed_at value per group (ADR 0005; two groups that record
     * theirs in the same millisecond count as one), so a second where the queue grows shows
     * whether the worker took fewer commands per transaction or ran fewer transactions.
     */
    committedPerSecond: { second: number; commands: number; transactions: number }[];
    expected: number;
    processed: number;
  };
  /** The first COLD_START_SECONDS at the paced rate on the fresh web process, before the measured round. */
  coldStart: { toUseCaseMs: LatencySummary; toUseCasePerSecond: { second: number; count: number; p50: number; p99: number }[] };
}

/**
 * A hot product: every order is for the same one product, so every PlaceOrder waits for the
 * previous one's row lock. The worker's burn-down rate is compared with the same statements over
 * plain pg on that one row; then orders are POSTed at HOT_PACED_SHARE of the worker's rate, and
 * the time from each 202 to its use case starting is reported per second of the round.
 */
export async function hotProductPhase(context: BenchContext): Promise<HotProductResult> {
  const databaseUrl = await context.dbs.create('hot');
  const catalog = await seedCatalog(databaseUrl, { users: 1000, products: 1 });
  const stage = await newStage(context, 'hot', databaseUrl);
  const capture = await captureFor(context, databaseUrl, catalog);
  const replayEnv = { DATABASE_URL: databaseUrl, BENCH_CAPTURE: JSON.stringify(capture), BENCH_CATALOG: JSON.stringify(catalog) };

  const worker = await startRole('worker', stage, { nodeFlags: context.nodeFlags });
  context.track(worker.process);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return await withQueue(stage, QUEUES.commands, async (queue) => {
      const warm = await workerRound(queue, worker.process, db, catalog, 300);
      const commandsPerRound = Math.min(5000, Math.max(300, Math.round(warm.rate * context.seconds)));
      context.log(`hot: warm-up ${warm.rate.toFixed(0)}/s on one product; ${commandsPerRound} commands per round`);
      const rates = { worker: [] as number[], bare: [] as number[] };
      const cpu = { worker: [] as number[], bare: [] as number[] };
      for (let round = 1; round <= context.rounds; round += 1) {
        const runs = {
          worker: () => workerRound(queue, worker.process, db, catalog, commandsPerRound),
          bare: () => bareRun(context, replayEnv),
        };
        const order = round % 2 === 1 ? (['worker', 'bare'] as const) : (['bare', 'worker'] as const);
        for (const variant of order) {
          const run = await runs[variant]();
          rates[variant].push(run.rate);
          cpu[variant].push(run.cpuMs);
          context.log(`hot: round ${round} ${variant.padEnd(6)} ${run.rate.toFixed(0)}/s, ${run.cpuMs.toFixed(3)} CPU ms each`);
        }
      }
      const workerRate = summarize(rates.worker);
      const bareRate = summarize(rates.bare);

      const perSecond = Math.max(5, Math.round(workerRate.median * HOT_PACED_SHARE));
      const seconds = Math.max(8, context.seconds * 2);
      const webPort = await freePort();
      const web = await startRole('web', stage, { port: webPort, nodeFlags: context.nodeFlags });
      context.track(web.process);
      context.log(`hot: ${perSecond} POST /v1/orders per second on one product for ${seconds} s`);
      let paced: HotProductResult['paced'];
      let cold: HotProductResult['paced'];
      try {
        cold = await pacedRound(context, queue, db, webPort, catalog, perSecond, COLD_START_SECONDS, 0);
        context.log(`hot: cold start (fresh web process, ${COLD_START_SECONDS} s): 202 → use case p99 ${cold.toUseCaseMs.p99.toFixed(1)} ms`);
        paced = await pacedRound(context, queue, db, webPort, catalog, perSecond, seconds, WARM_UP_MS);
      } finally {
        await web.process.stop();
      }
      context.log(
        `hot: 202 → use case p99 ${paced.toUseCaseMs.p99.toFixed(1)} ms; per second ${paced.toUseCasePerSecond.map((s) => s.p99.toFixed(0)).join(' ')} ms`,
      );
      context.log(`hot: committed per second (transactions) ${paced.committedPerSecond.map((s) => `${s.commands} (${s.transactions})`).join(' ')}`);
      return {
        worker: workerRate,
        bare: bareRate,
        ratio: workerRate.median / bareRate.median,
        commandsPerRound,
        cpuMsPerCommand: { worker: summarize(cpu.worker), bare: summarize(cpu.bare) },
        paced,
        coldStart: { toUseCaseMs: cold.toUseCaseMs, toUseCasePerSecond: cold.toUseCasePerSecond },
      };
    });
  } finally {
    await db.end();
    await worker.process.stop();
    await clearStage(stage);
  }
}

async function pacedRound(
  context: BenchContext,
  queue: Queue,
  db: pg.Client,
  webPort: number,
  catalog: Catalog,
  perSecond: number,
  seconds: number,
  leaveOutMs: number,
): Promise<HotProductResult['paced']> {
  const run = await runToResult<{ accepted: Accepted[]; seconds: number }>('http-pacer', benchEntry('pipeline/http-pacer.js'), {
    args: [`http://127.0.0.1:${webPort}/v1/orders`, String(perSecond), String(seconds)],
    env: { BENCH_CATALOG: JSON.stringify(catalog) },
    logDir: context.logDir,
    timeoutMs: 300_000,
  });
  const commandIds = run.accepted.map(([, , , commandId]) => commandId);
  const deadline = Date.now() + 120_000;
  let processed = 0;
  while (Date.now() < deadline) {
    processed = Number(
      (await db.query<{ n: string }>('select count(*) as n from processed_commands where command_id = any($1::uuid[])', [commandIds])).rows[0]?.n,
    );
    if (processed >= commandIds.length) break;
    await sleep(250);
  }
  const committedAt = new Map(
    (
      await db.query<{ id: string; t: number }>(
        'select command_id as id, extract(epoch from processed_at) * 1000 as t from processed_commands where command_id = any($1::uuid[])',
        [commandIds],
      )
    ).rows.map((row) => [row.id, Number(row.t)]),
  );
  const startedAt = new Map<string, number>();
  for (let i = 0; i < commandIds.length; i += 200) {
    const jobs = await Promise.all(commandIds.slice(i, i + 200).map((id) => queue.getJob(id)));
    for (const job of jobs) if (job?.id && job.processedOn) startedAt.set(job.id, job.processedOn);
  }
  const t0 = Math.min(...run.accepted.map(([, due]) => due));
  const rows = run.accepted.flatMap(([, due, answered, commandId]) => {
    const started = startedAt.get(commandId);
    const committed = committedAt.get(commandId);
    return started === undefined || committed === undefined ? [] : [{ second: Math.floor((due - t0) / 1000), toUseCase: started - answered, toCommitted: committed - answered, due }];
  });
  const measured = rows.filter((row) => row.due - t0 >= leaveOutMs);
  const groups = new Map<number, Map<number, number>>();
  for (const committed of committedAt.values()) {
    const second = Math.floor((committed - t0) / 1000);
    const inSecond = groups.get(second) ?? new Map<number, number>();
    inSecond.set(committed, (inSecond.get(committed) ?? 0) + 1);
    groups.set(second, inSecond);
  }
  const bySecond = new Map<number, number[]>();
  for (const row of rows) bySecond.set(row.second, [...(bySecond.get(row.second) ?? []), row.toUseCase]);
  return {
    offeredPerSecond: perSecond,
    achievedPerSecond: run.accepted.length / run.seconds,
    toUseCaseMs: latencies(measured.map((row) => row.toUseCase)),
    toUseCasePerSecond: [...bySecond]
      .sort(([a], [b]) => a - b)
      .map(([second, values]) => {
        const summary = latencies(values);
        return { second, count: values.length, p50: summary.p50, p99: summary.p99 };
      }),
    toCommittedMs: latencies(measured.map((row) => row.toCommitted)),
    committedPerSecond: [...groups]
      .sort(([a], [b]) => a - b)
      .map(([second, inSecond]) => ({ second, commands: [...inSecond.values()].reduce((sum, count) => sum + count, 0), transactions: inSecond.size })),
    expected: run.accepted.length,
    processed,
  };
}
