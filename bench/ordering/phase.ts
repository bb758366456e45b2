import type { Job } from 'bullmq';
import pg from 'pg';
import { QUEUES } from '../../queues/names.js';
import { INTAKE_CONNECTIONS } from '../intake/phase.js';
import { clearStage, newStage, type BenchContext } from '../lib/context.js';
import { benchEntry } from '../lib/paths.js';
import { machineBusySeconds, runToResult, sleep, waitFor, type NodeProcess } from '../lib/processes.js';
import { redisCpuSeconds } from '../lib/redis.js';
import { seedCatalog, type Catalog } from '../lib/seed.js';
import { latencies, median, summarize, type LatencySummary, type Summary } from '../lib/stats.js';
import { freePort, startRole, withQueue, type Stage } from '../lib/system.js';
import { JOBS_PER_SECOND_OF_ROUND } from '../processing/phase.js';
import type { ClientRun } from './http-client.js';

/** COMMAND_ORDERING=true on the web process, or false (bypassed at intake: no `after` in the jobs). */
export const ORDERING_VARIANTS = ['on', 'off'] as const;
export type OrderingVariant = (typeof ORDERING_VARIANTS)[number];
/** Place → Confirm → Ship rounds per second of --seconds (3 commands each). */
const LIFECYCLE_ROUNDS_PER_SECOND = 200;
/** RestockProduct commands in the one-key chain. */
export const HOT_KEY_CHAIN = 500;

/** One workload through one web + worker pair: from the first POST to the last outcome. */
export interface OrderingRun {
  commands: number;
  succeeded: number;
  failed: number;
  /** Error code → count of the failed commands. */
  failureCodes: Record<string, number>;
  /** Commands (and succeeded commands) per second from the first POST to the last outcome (processed_at). */
  perSecond: number;
  succeededPerSecond: number;
  /** 202s per second from the first POST to the last 202: how fast the client sent. */
  sentPerSecond: number;
  /** (last outcome − first outcome) ÷ (commands − 1): the time per link of a chain. */
  msBetweenOutcomes: number;
  /** CPU ms per command of the web and worker processes (user + system; the workers summed) and of Redis (INFO cpu; shared, an upper bound). */
  cpuMsPerCommand: { web: number; worker: number; redis: number };
  /** Average busy cores of the machine during the run. */
  machineBusyCores: number;
  statuses: Record<string, number>;
  /** lifecycle: commands whose outcome was written before their predecessor's (Confirm before Place, Ship before Confirm). */
  outOfOrder?: number;
  /** Gaps between consecutive outcomes (processed_at, sorted): a stalled chain shows in the tail. */
  outcomeGapsMs: LatencySummary;
  /** lifecycle and chain: how the jobs went, from BullMQ (see jobsBreakdown). */
  jobs?: JobsBreakdown;
}

export interface JobsBreakdown {
  /** How many times a job was taken by a worker, on average (1 + the times it was parked). */
  takenPerCommand: number;
  /**
   * Over the commands whose predecessor is in the same workload: its job finished → this job
   * taken for the last time (mean, p50, max; ms). With `runMs` it adds up to the time per link.
   */
  wakeMs: { mean: number; p50: number; max: number };
  /** Taken for the last time → finished: the unit of work, its commit, the release (mean, p50; ms). */
  runMs: { mean: number; p50: number };
}

type PerVariant<T> = Record<OrderingVariant, T>;

export interface OrderingResult {
  /** POSTs in flight (burst, chain) and clients (lifecycle): the intake phase's connection count. */
  inFlight: number;
  concurrency: number;
  /** The same burst of PlaceOrder (distinct orders, random products) through web → one worker. */
  burst: {
    commands: number;
    perSecond: PerVariant<Summary>;
    /** on ÷ off, from the medians. */
    ratio: number;
    cpuMsPerCommand: PerVariant<{ web: Summary; worker: Summary; redis: Summary }>;
    failed: PerVariant<number>;
  };
  /** Rounds of Place → Confirm → Ship sent back to back (each POST waits only for its 202), into two workers. */
  lifecycle: {
    rounds: number;
    clients: number;
    succeededPerSecond: PerVariant<Summary>;
    ratio: number;
    /** Failed commands per run, and their codes summed over the runs. */
    failed: PerVariant<Summary>;
    failureCodes: PerVariant<Record<string, number>>;
    outOfOrder: PerVariant<number>;
    takenPerCommand: PerVariant<Summary>;
    cpuMsPerCommand: PerVariant<{ web: Summary; worker: Summary; redis: Summary }>;
  };
  /** A chain of RestockProduct on one product: what one in-order stream can do. */
  hotKey: {
    commands: number;
    perSecond: PerVariant<Summary>;
    msPerLink: PerVariant<Summary>;
    sentPerSecond: PerVariant<Summary>;
    takenPerCommand: PerVariant<Summary>;
    /** Means per link (ms): predecessor finished → taken, and taken → finished (jobsBreakdown). */
    wakeMeanMs: PerVariant<Summary>;
    runMeanMs: PerVariant<Summary>;
    /** The longest wait of one link between its predecessor finishing and its being taken (ms). */
    wakeMaxMs: PerVariant<Summary>;
    /** p99 and max of the gaps between consecutive outcomes (ms). */
    outcomeGapP99Ms: PerVariant<Summary>;
    outcomeGapMaxMs: PerVariant<Summary>;
    failed: PerVariant<number>;
  };
  machineBusyCores: Summary;
  runs: { round: number; variant: OrderingVariant; workload: 'burst' | 'lifecycle' | 'chain'; run: OrderingRun }[];
}

interface System {
  web: NodeProcess;
  /** The worker, and a second one while the lifecycle rounds run. */
  workers: NodeProcess[];
  baseUrl: string;
}

/**
 * Ordering (issue 11): what per-aggregate FIFO costs. Each round starts a web process with
 * COMMAND_ORDERING=true and one with false (bypassed at intake), each with one worker on a
 * fresh queue prefix, in alternating order; through each pair, after a warm-up, the same
 * workloads over HTTP: a burst of PlaceOrder on spread keys, rounds of Place → Confirm → Ship
 * sent back to back (with a second worker, as the scenario: one worker takes its jobs
 * in order and seldom reorders them even unordered), and a chain of RestockProduct on one
 * product. Every rate is taken from the first POST to the last outcome in processed_commands.
 */
export async function orderingPhase(context: BenchContext): Promise<OrderingResult> {
  const databaseUrl = await context.dbs.create('ordering');
  const seeded = await seedCatalog(databaseUrl, { users: 1000, products: 1001 });
  // The first product is the hot key's; the burst and the lifecycle orders never touch it.
  const [hotProductId = '', ...productIds] = seeded.productIds;
  const catalog: Catalog = { userIds: seeded.userIds, productIds };
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  // Seeded stock is near MAX_STOCK; the chain restocks, so its product starts empty.
  await db.query('update products set stock = 0 where id = $1', [hotProductId]);
  const base = await newStage(context, 'ordering', databaseUrl);
  const burstCount = Math.round(JOBS_PER_SECOND_OF_ROUND * context.seconds);
  const lifecycleRounds = Math.round(LIFECYCLE_ROUNDS_PER_SECOND * context.seconds);

  const client = (name: string, args: string[]) =>
    runToResult<ClientRun>(`ordering-${name}`, benchEntry('ordering/http-client.js'), {
      args,
      env: { BENCH_CATALOG: JSON.stringify(catalog) },
      logDir: context.logDir,
      timeoutMs: 300_000,
    });
  const workloads = {
    burst: (system: System, count = burstCount) => client('burst', ['burst', system.baseUrl, String(count), String(INTAKE_CONNECTIONS)]),
    lifecycle: (system: System, rounds = lifecycleRounds) =>
      client('lifecycle', ['lifecycle', system.baseUrl, String(rounds), String(INTAKE_CONNECTIONS)]),
    chain: (system: System) => client('chain', ['chain', system.baseUrl, hotProductId, String(HOT_KEY_CHAIN), String(INTAKE_CONNECTIONS)]),
  };

  const runs: OrderingResult['runs'] = [];
  try {
    for (let round = 1; round <= context.rounds; round += 1) {
      const order = round % 2 === 1 ? ORDERING_VARIANTS : [...ORDERING_VARIANTS].reverse();
      for (const variant of order) {
        const stage: Stage = { ...base, queuePrefix: `${base.queuePrefix}-${round}-${variant}` };
        const system = await startSystem(context, stage, variant);
        try {
          // Not measured: JIT, pools and connections, for both sides alike.
          await measure(db, system, () => workloads.burst(system, 500));
          for (const workload of ['burst', 'lifecycle', 'chain'] as const) {
            let run: OrderingRun;
            if (workload === 'lifecycle') {
              const second = await startRole('worker', stage, { name: `worker-2-ordering-${variant}`, nodeFlags: context.nodeFlags });
              context.track(second.process);
              // startRole's readiness check (a worker on the queue) already holds with the first one.
              await withQueue(stage, QUEUES.commands, (queue) =>
                waitFor('a second worker on the commands queue', async () => (await queue.getWorkersCount()) >= 2, { process: second.process }),
              );
              const both = { ...system, workers: [...system.workers, second.process] };
              try {
                await measure(db, both, () => workloads.lifecycle(both, 100));
                run = await measure(db, both, () => workloads.lifecycle(both), async (sent) => ({
                  outOfOrder: await outOfOrder(db, sent.rounds),
                  jobs: await jobsBreakdown(stage, sent.commandIds),
                }));
              } finally {
                await second.process.stop();
              }
            } else {
              run = await measure(db, system, () => workloads[workload](system), async (sent) =>
                workload === 'chain' ? { jobs: await jobsBreakdown(stage, sent.commandIds) } : {},
              );
            }
            runs.push({ round, variant, workload, run });
            context.log(
              `ordering: round ${round} ${variant.padEnd(3)} ${workload.padEnd(9)} ${run.succeededPerSecond.toFixed(0)} succeeded/s` +
                ` (${run.commands} commands, ${run.failed} failed), ${run.msBetweenOutcomes.toFixed(2)} ms between outcomes;` +
                ` CPU ms each: web ${run.cpuMsPerCommand.web.toFixed(3)}, worker ${run.cpuMsPerCommand.worker.toFixed(3)}, Redis ${run.cpuMsPerCommand.redis.toFixed(3)}`,
            );
          }
        } finally {
          await Promise.all([system.web, ...system.workers].map((proc) => proc.stop()));
          await clearStage(stage);
        }
      }
    }
  } finally {
    await db.end();
  }
  return summarizeRuns(runs, { burstCount, lifecycleRounds, concurrency: context.concurrency });
}

async function startSystem(context: BenchContext, stage: Stage, variant: OrderingVariant): Promise<System> {
  const port = await freePort();
  const [web, worker] = await Promise.all([
    startRole('web', stage, { port, name: `web-ordering-${variant}`, nodeFlags: context.nodeFlags, env: { COMMAND_ORDERING: String(variant === 'on') } }),
    startRole('worker', stage, { name: `worker-ordering-${variant}`, nodeFlags: context.nodeFlags }),
  ]);
  context.track(web.process);
  context.track(worker.process);
  return { web: web.process, workers: [worker.process], baseUrl: `http://127.0.0.1:${port}` };
}

/**
 * Runs one client to completion, waits until every accepted command has an outcome, and reads
 * the figures; `more` adds the workload's own (read after the CPU counters).
 */
async function measure(
  db: pg.Client,
  system: System,
  send: () => Promise<ClientRun>,
  more: (sent: ClientRun) => Promise<Partial<OrderingRun>> = () => Promise.resolve({}),
): Promise<OrderingRun> {
  const workersCpu = () => system.workers.reduce((sum, worker) => sum + worker.cpu(), 0);
  const cpuBefore = { web: system.web.cpu(), worker: workersCpu(), redis: await redisCpuSeconds() };
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const sent = await send();
  const ids = sent.commandIds;
  const deadline = Date.now() + 60_000 + ids.length * 20;
  for (;;) {
    const done = Number(
      (await db.query<{ n: string }>('select count(*) as n from processed_commands where command_id = any($1::uuid[])', [ids])).rows[0]?.n,
    );
    if (done >= ids.length) break;
    if (Date.now() > deadline) throw new Error(`ordering: ${done} of ${ids.length} commands had an outcome in time`);
    await sleep(100);
  }
  const cpu = { web: system.web.cpu(), worker: workersCpu(), redis: await redisCpuSeconds() };
  const busyCores = ((machineBusySeconds() - busyBefore) * 1000) / (performance.now() - started);
  const { rows } = await db.query<{ status: string; code: string | null; t: number }>(
    `select status, error->>'code' as code, extract(epoch from processed_at) * 1000 as t
       from processed_commands where command_id = any($1::uuid[])`,
    [ids],
  );
  const times = rows.map((row) => Number(row.t)).sort((a, b) => a - b);
  const firstOutcome = Math.min(...times);
  const lastOutcome = Math.max(...times);
  const failureCodes: Record<string, number> = {};
  for (const row of rows) if (row.status !== 'succeeded') failureCodes[row.code ?? 'unknown'] = (failureCodes[row.code ?? 'unknown'] ?? 0) + 1;
  const succeeded = rows.filter((row) => row.status === 'succeeded').length;
  const seconds = (lastOutcome - sent.firstPostAt) / 1000;
  const perCommand = (before: number, after: number) => ((after - before) * 1000) / ids.length;
  return {
    commands: ids.length,
    succeeded,
    failed: ids.length - succeeded,
    failureCodes,
    perSecond: ids.length / seconds,
    succeededPerSecond: succeeded / seconds,
    sentPerSecond: (ids.length / (sent.lastAcceptedAt - sent.firstPostAt)) * 1000,
    msBetweenOutcomes: (lastOutcome - firstOutcome) / Math.max(1, ids.length - 1),
    cpuMsPerCommand: {
      web: perCommand(cpuBefore.web, cpu.web),
      worker: perCommand(cpuBefore.worker, cpu.worker),
      redis: perCommand(cpuBefore.redis, cpu.redis),
    },
    machineBusyCores: busyCores,
    statuses: sent.statuses,
    outcomeGapsMs: latencies(times.slice(1).map((time, i) => time - (times[i] as number))),
    ...(await more(sent)),
  };
}

/** Links (Place → Confirm, Confirm → Ship) whose later command's outcome was written before the earlier one's. */
async function outOfOrder(db: pg.Client, rounds: string[][]): Promise<number> {
  const links = rounds.flatMap((round) => round.slice(1).map((after, i) => [round[i], after]));
  const { rows } = await db.query<{ n: string }>(
    `select count(*) as n from unnest($1::uuid[], $2::uuid[]) as link(before_id, after_id)
       join processed_commands b on b.command_id = link.before_id
       join processed_commands a on a.command_id = link.after_id
      where a.processed_at < b.processed_at`,
    [links.map(([before]) => before), links.map(([, after]) => after)],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * The workload's jobs, read back from BullMQ: how often each was taken (`attemptsStarted`: a
 * park does not use up an attempt but counts as a start), and per command with a predecessor
 * the time from the predecessor's job finishing (after its commit and its release) to this job
 * being taken for the last time, and from then to this job finishing. The worker's clock.
 */
async function jobsBreakdown(stage: Stage, commandIds: string[]): Promise<JobsBreakdown> {
  return withQueue(stage, QUEUES.commands, async (queue) => {
    const jobs: Job[] = [];
    for (let i = 0; i < commandIds.length; i += 200) {
      const batch = await Promise.all(commandIds.slice(i, i + 200).map((id) => queue.getJob(id)));
      for (const job of batch) if (job) jobs.push(job);
    }
    const finished = new Map(jobs.map((job) => [job.id, job.finishedOn]));
    const wake: number[] = [];
    const run: number[] = [];
    for (const job of jobs) {
      if (job.processedOn === undefined || job.finishedOn === undefined) continue;
      run.push(job.finishedOn - job.processedOn);
      const { after } = job.data as { after?: string };
      const before = after === undefined ? undefined : finished.get(after);
      if (before !== undefined) wake.push(job.processedOn - before);
    }
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    return {
      takenPerCommand: mean(jobs.map((job) => job.attemptsStarted)),
      wakeMs: { mean: mean(wake), p50: median(wake), max: wake.length > 0 ? Math.max(...wake) : Number.NaN },
      runMs: { mean: mean(run), p50: median(run) },
    };
  });
}

function summarizeRuns(
  runs: OrderingResult['runs'],
  sizes: { burstCount: number; lifecycleRounds: number; concurrency: number },
): OrderingResult {
  const of = (workload: OrderingResult['runs'][number]['workload'], variant: OrderingVariant) =>
    runs.filter((entry) => entry.workload === workload && entry.variant === variant).map((entry) => entry.run);
  const perVariant = <T>(value: (variant: OrderingVariant) => T): PerVariant<T> => ({ on: value('on'), off: value('off') });
  const figure = (workload: OrderingResult['runs'][number]['workload'], pick: (run: OrderingRun) => number) =>
    perVariant((variant) => summarize(of(workload, variant).map(pick)));
  const cpu = (workload: OrderingResult['runs'][number]['workload']) =>
    perVariant((variant) => ({
      web: summarize(of(workload, variant).map((run) => run.cpuMsPerCommand.web)),
      worker: summarize(of(workload, variant).map((run) => run.cpuMsPerCommand.worker)),
      redis: summarize(of(workload, variant).map((run) => run.cpuMsPerCommand.redis)),
    }));
  const failedSum = (workload: OrderingResult['runs'][number]['workload']) =>
    perVariant((variant) => of(workload, variant).reduce((sum, run) => sum + run.failed, 0));

  const burstRate = figure('burst', (run) => run.perSecond);
  const lifecycleRate = figure('lifecycle', (run) => run.succeededPerSecond);
  return {
    inFlight: INTAKE_CONNECTIONS,
    concurrency: sizes.concurrency,
    burst: {
      commands: sizes.burstCount,
      perSecond: burstRate,
      ratio: burstRate.on.median / burstRate.off.median,
      cpuMsPerCommand: cpu('burst'),
      failed: failedSum('burst'),
    },
    lifecycle: {
      rounds: sizes.lifecycleRounds,
      clients: INTAKE_CONNECTIONS,
      succeededPerSecond: lifecycleRate,
      ratio: lifecycleRate.on.median / lifecycleRate.off.median,
      failed: figure('lifecycle', (run) => run.failed),
      failureCodes: perVariant((variant) => {
        const codes: Record<string, number> = {};
        for (const run of of('lifecycle', variant)) for (const [code, count] of Object.entries(run.failureCodes)) codes[code] = (codes[code] ?? 0) + count;
        return codes;
      }),
      outOfOrder: perVariant((variant) => of('lifecycle', variant).reduce((sum, run) => sum + (run.outOfOrder ?? 0), 0)),
      takenPerCommand: figure('lifecycle', (run) => run.jobs?.takenPerCommand ?? Number.NaN),
      cpuMsPerCommand: cpu('lifecycle'),
    },
    hotKey: {
      commands: HOT_KEY_CHAIN,
      perSecond: figure('chain', (run) => run.perSecond),
      msPerLink: figure('chain', (run) => run.msBetweenOutcomes),
      sentPerSecond: figure('chain', (run) => run.sentPerSecond),
      takenPerCommand: figure('chain', (run) => run.jobs?.takenPerCommand ?? Number.NaN),
      wakeMeanMs: figure('chain', (run) => run.jobs?.wakeMs.mean ?? Number.NaN),
      runMeanMs: figure('chain', (run) => run.jobs?.runMs.mean ?? Number.NaN),
      wakeMaxMs: figure('chain', (run) => run.jobs?.wakeMs.max ?? Number.NaN),
      outcomeGapP99Ms: figure('chain', (run) => run.outcomeGapsMs.p99),
      outcomeGapMaxMs: figure('chain', (run) => run.outcomeGapsMs.max),
      failed: failedSum('chain'),
    },
    machineBusyCores: summarize(runs.map((entry) => entry.run.machineBusyCores)),
    runs,
  };
}
