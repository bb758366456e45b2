// The floor of the end-to-end CPU figure: what one hop costs on this machine at the same paced
// rates, whatever the hop does. Two hops, each paced by an open-loop client at the end-to-end
// rounds' rates and for as long, their CPU read from /proc like every role's:
//  - HTTP: the intake's no-op web process (the web process as it is built, with an enqueue
//    that does nothing), CPU per request;
//  - queue: a BullMQ worker with the roles' settings and a processor that does nothing
//    (bare-hop.ts), CPU per job, with Redis's CPU per job and the Redis round trips of the
//    worker's fetch cycle per job (its scripts and its blocking pops) beside it.
// A process woken by each request at a low rate runs from cold caches (and, on a virtual
// machine, pays for the switch into it), so its cost per request rises as the rate falls:
// these figures show how much of the pipeline's CPU per order is that, not its own work. An
// order makes one HTTP hop into the web process and three queue hops (commands, emails,
// webhooks) before the webhooks process's POST.
import { QUEUES } from '../../queues/names.js';
import { clearStage, type BenchContext } from '../lib/context.js';
import { benchEntry } from '../lib/paths.js';
import { runToResult, startNode, waitFor, type NodeProcess } from '../lib/processes.js';
import { redisCommandCalls, redisCpuSeconds, REDIS_URL } from '../lib/redis.js';
import type { Catalog } from '../lib/seed.js';
import { freePort, systemEnv, withQueue, type Stage } from '../lib/system.js';
import type { Accepted } from './http-pacer.js';

const WARM_UP_SECONDS = 3;

/** CPU ms per request or job, by offered rate (per second). */
export interface HopFloor {
  /** The no-op web process, per accepted request. */
  http: Record<number, number>;
  /** The no-op BullMQ worker process, per job. */
  queue: Record<number, number>;
  /** Redis, per job of the queue hop (upper bound: anything else using it counts too). */
  queueRedis: Record<number, number>;
  /** The Redis round trips of the queue hop's worker per job (upper bound, as `queueRedis`); not in older result files. */
  queueRoundTrips?: Record<number, QueueRoundTrips>;
}

/**
 * What a BullMQ worker sends to Redis per job: its scripts (the fetch `moveToActive`, the
 * completion `moveToFinished`, lock renewals) and its blocking pops on the queue's marker
 * (`BZPOPMIN`). The producer's add (one script per job) is not counted.
 */
export interface QueueRoundTrips {
  scripts: number;
  blockingPops: number;
}

/** Paces each hop at each rate in turn, after a warm-up at the highest rate. */
export async function measureHopFloor(
  context: BenchContext,
  stage: Stage,
  catalog: Catalog,
  rates: readonly number[],
  seconds: number,
): Promise<HopFloor> {
  const http = await httpFloor(context, stage, catalog, rates, seconds);
  const { queue, redis, roundTrips } = await queueFloor(context, stage, rates, seconds);
  return { http, queue, queueRedis: redis, queueRoundTrips: roundTrips };
}

async function httpFloor(context: BenchContext, stage: Stage, catalog: Catalog, rates: readonly number[], seconds: number) {
  const port = await freePort();
  const floorStage = { ...stage, queuePrefix: `${stage.queuePrefix}-floor-http` };
  const noop = startNode('noop-web-floor', benchEntry('intake/noop-web.js'), {
    env: systemEnv(floorStage, { PORT: String(port) }),
    logDir: context.logDir,
    nodeFlags: context.nodeFlags,
  });
  context.track(noop);
  try {
    await waitFor('noop-web-floor /health/ready', async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).ok, {
      process: noop,
    });
    const paced = async (rate: number, forSeconds: number) => {
      const run = await runToResult<{ accepted: Accepted[] }>('http-pacer-floor', benchEntry('pipeline/http-pacer.js'), {
        args: [`http://127.0.0.1:${port}/v1/orders`, String(rate), String(forSeconds)],
        env: { BENCH_CATALOG: JSON.stringify(catalog) },
        logDir: context.logDir,
        timeoutMs: 300_000,
      });
      if (run.accepted.length === 0) throw new Error(`the no-op web process accepted no request at ${rate}/s`);
      return run.accepted.length;
    };
    return await perRate(context, 'HTTP hop (no-op web process)', noop, rates, seconds, paced);
  } finally {
    await noop.stop();
    await clearStage(floorStage);
  }
}

async function queueFloor(context: BenchContext, stage: Stage, rates: readonly number[], seconds: number) {
  const floorStage = { ...stage, queuePrefix: `${stage.queuePrefix}-floor-queue` };
  const env = { REDIS_URL, QUEUE_PREFIX: floorStage.queuePrefix };
  const worker = startNode('bare-hop-worker', benchEntry('pipeline/bare-hop.js'), {
    args: ['worker', String(context.concurrency)],
    env,
    logDir: context.logDir,
    nodeFlags: context.nodeFlags,
  });
  context.track(worker);
  const redis: Record<number, number> = {};
  const roundTrips: Record<number, QueueRoundTrips> = {};
  try {
    return await withQueue(floorStage, QUEUES.emails, async (queue) => {
      // Ready as a role's worker is (system.ts): once it is connected to its queue.
      await waitFor(`${worker.name} worker on ${QUEUES.emails}`, async () => (await queue.getWorkersCount()) > 0, { process: worker });
      const paced = async (rate: number, forSeconds: number) => {
        const callsBefore = await redisCommandCalls();
        const redisBefore = await redisCpuSeconds();
        const { added } = await runToResult<{ added: number }>('bare-hop-add', benchEntry('pipeline/bare-hop.js'), {
          args: ['add', String(rate), String(forSeconds)],
          env,
          logDir: context.logDir,
          timeoutMs: 300_000,
        });
        await waitFor(
          'bare hop drained',
          async () => Object.values(await queue.getJobCounts('waiting', 'active', 'prioritized')).every((n) => n === 0),
          { timeoutMs: 120_000, intervalMs: 100, process: worker },
        );
        // The producer's own commands count too: the figure is an upper bound, like the pipeline's.
        redis[rate] = (((await redisCpuSeconds()) - redisBefore) * 1000) / added;
        const calls = await redisCommandCalls();
        const sent = (...names: string[]) =>
          names.reduce((sum, name) => sum + (calls.get(name) ?? 0) - (callsBefore.get(name) ?? 0), 0) / added;
        // Every add is one script (addStandardJob): what is left is the worker's, but for the
        // drain wait's few job counts and a stalled check every 30 s (both scripts, well under
        // a hundredth per job).
        roundTrips[rate] = { scripts: sent('evalsha', 'eval') - 1, blockingPops: sent('bzpopmin') };
        return added;
      };
      const perJob = await perRate(context, 'queue hop (no-op BullMQ worker)', worker, rates, seconds, paced);
      for (const rate of rates) {
        const trips = roundTrips[rate];
        if (trips) context.log(`e2e floor: queue hop at ${rate}/s: the worker's Redis round trips per job: ${trips.scripts.toFixed(2)} scripts · ${trips.blockingPops.toFixed(2)} BZPOPMIN`);
      }
      return { queue: perJob, redis, roundTrips };
    });
  } finally {
    await worker.stop();
    await clearStage(floorStage);
  }
}

/** Warms `server` up at the highest rate, then its CPU ms per unit at each rate. */
async function perRate(
  context: BenchContext,
  what: string,
  server: NodeProcess,
  rates: readonly number[],
  seconds: number,
  paced: (rate: number, seconds: number) => Promise<number>,
): Promise<Record<number, number>> {
  context.log(`e2e floor: warming the ${what} up (${Math.max(...rates)}/s for ${WARM_UP_SECONDS} s)`);
  await paced(Math.max(...rates), WARM_UP_SECONDS);
  const floor: Record<number, number> = {};
  for (const rate of rates) {
    const before = server.cpu();
    const units = await paced(rate, seconds);
    floor[rate] = ((server.cpu() - before) * 1000) / units;
    context.log(`e2e floor: ${what} at ${rate}/s for ${seconds} s: ${floor[rate]?.toFixed(2)} CPU ms per unit`);
  }
  return floor;
}
