// What every queue-library baseline of the processing figure shares: a queue of PlaceOrder
// jobs is filled while no worker runs, then one worker with `concurrency` jobs in flight burns
// it down, each job running the captured PlaceOrder statements in one transaction. A small
// warm-up burn-down runs first in the same process (JIT, pools), as the conveyor worker gets one.
import { printResult } from '../../lib/processes.js';
import { steadyRate } from '../../lib/stats.js';
import { placeOrder, replayFromEnv, type Replay, type SqlRunner } from '../replay.js';
import type { ReplayIds } from '../sql-template.js';

/** A job's payload: the ids its PlaceOrder runs with. */
export type PlaceOrderJob = ReplayIds;

export interface Peer {
  /** Creates the queue (schema, migrations); not measured. */
  setUp(): Promise<void>;
  /** Puts the jobs on the queue with no worker running; not measured. */
  enqueue(jobs: PlaceOrderJob[]): Promise<void>;
  /**
   * Starts a worker with `concurrency` jobs in flight; each job calls `handle` with a database
   * connection of the library's choosing (its own pool, or the application's). Resolves once the
   * worker is started, with how to stop it.
   */
  startWorker(concurrency: number, handle: JobHandler): Promise<() => Promise<void>>;
  tearDown(): Promise<void>;
}

export type JobHandler = (job: PlaceOrderJob, client: SqlRunner) => Promise<void>;

export interface BurnDownResult {
  jobs: number;
  /** jobs ÷ (last job finished − worker started). */
  startToDrainPerSecond: number;
  /** From the finish times between their 10th and 90th percentile: the method of the conveyor figure. */
  perSecond: number;
  cpuMsPerJob: number;
}

/** Runs `node <peer>.js <jobs> <concurrency>` for `peer` and prints its RESULT. */
export async function burnDownMain(peer: Peer): Promise<void> {
  const [jobs = '3000', concurrency = '16'] = process.argv.slice(2);
  const replay = replayFromEnv();
  await peer.setUp();
  try {
    await burnDown(peer, replay, Math.min(500, Math.ceil(Number(jobs) / 5)), Number(concurrency));
    printResult(await burnDown(peer, replay, Number(jobs), Number(concurrency)));
  } finally {
    await peer.tearDown();
  }
}

async function burnDown(peer: Peer, replay: Replay, count: number, concurrency: number): Promise<BurnDownResult> {
  await peer.enqueue(Array.from({ length: count }, () => replay.ids()));
  const finished: number[] = [];
  let resolve!: () => void;
  const drained = new Promise<void>((done) => (resolve = done));
  const handle: JobHandler = async (job, client) => {
    await placeOrder(client, replay.statementsFor(job));
    finished.push(performance.now());
    if (finished.length === count) resolve();
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const stop = await peer.startWorker(concurrency, handle);
  const deadline = setTimeout(() => resolve(), 60_000 + count * 20);
  await drained;
  clearTimeout(deadline);
  const cpu = process.cpuUsage(cpuBefore);
  const last = finished.at(-1) ?? Number.NaN;
  await stop();
  if (finished.length < count) throw new Error(`only ${finished.length} of ${count} jobs finished in time`);
  return {
    jobs: count,
    startToDrainPerSecond: (count / (last - started)) * 1000,
    perSecond: steadyRate(finished),
    cpuMsPerJob: (cpu.user + cpu.system) / 1000 / count,
  };
}
