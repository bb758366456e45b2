import type { BenchDatabases } from './database.js';
import type { NodeProcess } from './processes.js';
import { deletePrefix } from './redis.js';
import type { Stage } from './system.js';

/** What every phase gets from the runner. */
export interface BenchContext {
  dbs: BenchDatabases;
  runId: string;
  logDir: string;
  /** Scratch space (captured mail); removed at the end. */
  tmpDir: string;
  /** Repetitions of each throughput measurement; the median is reported. */
  rounds: number;
  /** Seconds of each measured throughput run. */
  seconds: number;
  /** LOG_LEVEL of the system's processes. */
  logLevel: string;
  /** WORKER_CONCURRENCY of the worker roles (and the in-flight count of the bare baselines). */
  concurrency: number;
  /** Settings given to every system process on top of the bench's own (`--env KEY=VALUE`). */
  env: Record<string, string>;
  /** Orders per second of the end-to-end phase's two rounds (`--e2e-rates`; the 200 and 50 by default). */
  e2eRates: readonly [number, number];
  /** Extra node flags for the system's processes (e.g. --cpu-prof). */
  nodeFlags: string[];
  /** Progress lines on stderr. */
  log(message: string): void;
  /** Processes and prefixes to clean up however the run ends. */
  track(process: NodeProcess): void;
}

export async function newStage(context: BenchContext, phase: string, databaseUrl: string): Promise<Stage> {
  return {
    databaseUrl,
    queuePrefix: `bench-${context.runId}-${phase}`,
    logDir: context.logDir,
    mailDir: `${context.tmpDir}/mail-${phase}`,
    logLevel: context.logLevel,
    workerConcurrency: context.concurrency,
    env: context.env,
  };
}

export async function clearStage(stage: Stage): Promise<void> {
  await deletePrefix(stage.queuePrefix);
}
