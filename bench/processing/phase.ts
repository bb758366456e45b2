import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Queue } from 'bullmq';
import { commandJob } from '../../queues/commands.js';
import { QUEUES } from '../../queues/names.js';
import { clearStage, newStage, type BenchContext } from '../lib/context.js';
import { benchEntry, ROOT } from '../lib/paths.js';
import { machineBusySeconds, runToResult, sleep, type NodeProcess } from '../lib/processes.js';
import { deletePrefix, REDIS_URL } from '../lib/redis.js';
import { placeOrderPayload, seedCatalog, type Catalog } from '../lib/seed.js';
import { steadyRate, summarize, type Summary } from '../lib/stats.js';
import { startRole, withQueue } from '../lib/system.js';
import type { CapturedStatement } from './capture.js';
import type { BurnDownResult } from './peers/burn-down.js';

/** The queue libraries a user might pick instead, each running the same PlaceOrder statements. */
export const PEERS = {
  bullmqSql: { label: 'BullMQ + hand-written SQL', script: 'processing/peers/bullmq-sql.js', package: 'bullmq' },
  graphileWorker: { label: 'Graphile Worker', script: 'processing/peers/graphile-worker.js', package: 'graphile-worker' },
  pgBoss: { label: 'pg-boss', script: 'processing/peers/pg-boss.js', package: 'pg-boss' },
} as const;
export type PeerName = keyof typeof PEERS;
const PEER_NAMES = Object.keys(PEERS) as PeerName[];
type Variant = 'worker' | 'bare' | PeerName;

/** Jobs each burn-down (the conveyor worker's and every peer's) works through, per second of --seconds. */
export const JOBS_PER_SECOND_OF_ROUND = 600;

export interface ProcessingResult {
  /** PlaceOrder commands completed per second by one worker process. */
  worker: Summary;
  /** The same statements in transactions over plain pg, same concurrency. */
  bare: Summary;
  /** Each peer's burn-down of the same number of jobs, same concurrency. */
  peers: Record<PeerName, Summary>;
  /** The installed version of each peer's package. */
  peerVersions: Record<PeerName, string>;
  /** worker ÷ bare, from the medians. */
  ratio: number;
  /** worker ÷ each peer, and each peer ÷ bare, from the medians. */
  workerToPeer: Record<PeerName, number>;
  peerToBare: Record<PeerName, number>;
  /** Jobs ÷ (last finished − released), for the worker and the peers: the whole burn-down, start-up and tail included. */
  startToDrainPerSecond: Record<'worker' | PeerName, Summary>;
  commandsPerRound: number;
  concurrency: number;
  /** CPU ms per command: the worker process, the bare script and the peers' processes (PostgreSQL's and Redis's own not included). */
  cpuMsPerCommand: { worker: Summary; bare: Summary } & Record<PeerName, Summary>;
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
 * transactions in flight, and against BullMQ, Graphile Worker and pg-boss running that SQL.
 * Each worker round queues a batch while the queue is paused, then resumes it; each peer fills
 * its queue before its worker starts. Every burn-down's rate is taken from its jobs' finish
 * times (10th to 90th percentile, so start-up and the draining tail are left out).
 */
export async function processingPhase(context: BenchContext): Promise<ProcessingResult> {
  const databaseUrl = await context.dbs.create('processing');
  const catalog = await seedCatalog(databaseUrl);
  const stage = await newStage(context, 'processing', databaseUrl);
  const capture = await captureFor(context, databaseUrl, catalog);
  context.log(`processing: captured ${capture.statements.length} statements per PlaceOrder`);

  const worker = await startRole('worker', stage, { nodeFlags: context.nodeFlags });
  context.track(worker.process);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const replayEnv = { DATABASE_URL: databaseUrl, BENCH_CAPTURE: JSON.stringify(capture), BENCH_CATALOG: JSON.stringify(catalog) };

  try {
    return await withQueue(stage, QUEUES.commands, async (queue) => {
      // Enough to get MikroORM's and BullMQ's hot paths compiled before anything is measured.
      const warm = await workerRound(queue, worker.process, db, catalog, 1000);
      const commandsPerRound = Math.round(JOBS_PER_SECOND_OF_ROUND * context.seconds);
      context.log(`processing: warm-up ${warm.rate.toFixed(0)}/s; ${commandsPerRound} jobs per burn-down`);

      const rates: Record<Variant, number[]> = { worker: [], bare: [], bullmqSql: [], graphileWorker: [], pgBoss: [] };
      const cpu: Record<Variant, number[]> = { worker: [], bare: [], bullmqSql: [], graphileWorker: [], pgBoss: [] };
      const drain: Record<'worker' | PeerName, number[]> = { worker: [], bullmqSql: [], graphileWorker: [], pgBoss: [] };
      const busy: number[] = [];
      let failed = warm.failed;
      const peerRun = async (name: PeerName) => {
        const prefix = `${stage.queuePrefix}-${name}`;
        const run = await runToResult<BurnDownResult>(name, benchEntry(PEERS[name].script), {
          args: [String(commandsPerRound), String(context.concurrency)],
          env: { ...replayEnv, REDIS_URL, QUEUE_PREFIX: prefix },
          logDir: context.logDir,
          timeoutMs: 300_000,
        });
        await deletePrefix(prefix);
        drain[name].push(run.startToDrainPerSecond);
        return { rate: run.perSecond, cpuMs: run.cpuMsPerJob };
      };
      const runs: Record<Variant, () => Promise<{ rate: number; cpuMs: number }>> = {
        worker: async () => {
          const run = await workerRound(queue, worker.process, db, catalog, commandsPerRound);
          failed += run.failed;
          drain.worker.push(run.startToDrainPerSecond);
          return run;
        },
        bare: () => bareRun(context, replayEnv),
        bullmqSql: () => peerRun('bullmqSql'),
        graphileWorker: () => peerRun('graphileWorker'),
        pgBoss: () => peerRun('pgBoss'),
      };
      const order: Variant[] = ['worker', 'bare', ...PEER_NAMES];
      for (let round = 1; round <= context.rounds; round += 1) {
        // Rotate the order each round, so no variant always runs first (or right after another).
        for (let i = 0; i < order.length; i += 1) {
          const variant = order[(i + round - 1) % order.length] as Variant;
          const busyBefore = machineBusySeconds();
          const started = performance.now();
          const run = await runs[variant]();
          busy.push(((machineBusySeconds() - busyBefore) * 1000) / (performance.now() - started));
          rates[variant].push(run.rate);
          cpu[variant].push(run.cpuMs);
          context.log(`processing: round ${round} ${variant.padEnd(14)} ${run.rate.toFixed(0)}/s, ${run.cpuMs.toFixed(3)} CPU ms each`);
        }
      }
      const summary = Object.fromEntries(order.map((variant) => [variant, summarize(rates[variant])])) as Record<Variant, Summary>;
      const perPeer = <T>(value: (name: PeerName) => T) => Object.fromEntries(PEER_NAMES.map((name) => [name, value(name)])) as Record<PeerName, T>;
      return {
        worker: summary.worker,
        bare: summary.bare,
        peers: perPeer((name) => summary[name]),
        peerVersions: perPeer((name) => installedVersion(PEERS[name].package)),
        ratio: summary.worker.median / summary.bare.median,
        workerToPeer: perPeer((name) => summary.worker.median / summary[name].median),
        peerToBare: perPeer((name) => summary[name].median / summary.bare.median),
        startToDrainPerSecond: { worker: summarize(drain.worker), ...perPeer((name) => summarize(drain[name])) },
        commandsPerRound,
        concurrency: context.concurrency,
        cpuMsPerCommand: { worker: summarize(cpu.worker), bare: summarize(cpu.bare), ...perPeer((name) => summarize(cpu[name])) },
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

/** The SQL of one PlaceOrder on `catalog`, captured from the real unit of work (capture.ts). */
export function captureFor(context: BenchContext, databaseUrl: string, catalog: Catalog) {
  return runToResult<{ statements: CapturedStatement[]; input: unknown }>('capture', benchEntry('processing/capture.js'), {
    env: { DATABASE_URL: databaseUrl, BENCH_CATALOG: JSON.stringify(catalog) },
    logDir: context.logDir,
  });
}

/** The captured statements over plain pg for `--seconds` (pg-replay.ts). */
export async function bareRun(context: BenchContext, env: Record<string, string>): Promise<{ rate: number; cpuMs: number }> {
  const run = await runToResult<{ perSecond: number; cpuMsPerCommand: number }>('pg-replay', benchEntry('processing/pg-replay.js'), {
    args: [String(context.seconds), String(context.concurrency)],
    env,
    logDir: context.logDir,
  });
  return { rate: run.perSecond, cpuMs: run.cpuMsPerCommand };
}

/** Queues `count` PlaceOrder jobs on the paused queue, resumes it and waits until all are processed. */
export async function workerRound(queue: Queue, worker: NodeProcess, db: pg.Client, catalog: Catalog, count: number) {
  await queue.pause();
  const payloads = Array.from({ length: count }, () => placeOrderPayload(catalog));
  for (let i = 0; i < payloads.length; i += 1000) {
    await queue.addBulk(
      payloads.slice(i, i + 1000).map((data) => commandJob('PlaceOrder', data)),
    );
  }
  const ids = payloads.map((payload) => payload.commandId);
  const cpuBefore = worker.cpu();
  const released = Date.now();
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
  const finished = rows.rows.map((row) => Number(row.t));
  return {
    rate: steadyRate(finished),
    startToDrainPerSecond: (count / (Math.max(...finished) - released)) * 1000,
    cpuMs,
    failed: rows.rows.filter((row) => row.status !== 'succeeded').length,
  };
}

function installedVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
