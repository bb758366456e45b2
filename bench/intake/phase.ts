import type { BenchContext } from '../lib/context.js';
import { clearStage, newStage } from '../lib/context.js';
import { benchEntry } from '../lib/paths.js';
import { machineBusySeconds, runToResult, startNode, waitFor, type NodeProcess } from '../lib/processes.js';
import { deletePrefix, redisCpuSeconds } from '../lib/redis.js';
import { orderBody, seedCatalog } from '../lib/seed.js';
import { summarize, type Summary } from '../lib/stats.js';
import { freePort, startRole, systemEnv } from '../lib/system.js';
import { REDIS_URL } from '../lib/redis.js';

export const INTAKE_CONNECTIONS = 64;

interface HttpRun {
  acceptedPerSecond: number;
  accepted: number;
  requests: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p99: number; max: number };
}

export interface IntakeResult {
  /** 202s per second of the real web process (POST /v1/orders, auth, validation, queue.add). */
  real: Summary;
  /** 202s per second of the same server whose CommandSender does nothing. */
  noop: Summary;
  /** queue.add per second from a bare script, 64 in flight. */
  bare: Summary;
  /** real ÷ noop and real ÷ bare, each from the medians. */
  ratioToNoop: number;
  ratioToBare: number;
  /**
   * CPU milliseconds the web process (or the bare script) spent per accepted command: steadier
   * than the rates on a shared machine. Redis's share of the real server's work is not in it.
   */
  cpuMsPerCommand: { real: Summary; noop: Summary; bare: Summary };
  /**
   * CPU milliseconds of the Redis server per enqueued command (real and bare; the no-op sends
   * nothing). Redis may be shared, so this is an upper bound.
   */
  redisCpuMsPerCommand: { real: Summary; bare: Summary };
  /** Average busy cores of the whole machine during the runs (of `cores`): the noise. */
  machineBusyCores: Summary;
  /** Per-run detail: latency, status codes, errors. */
  runs: { variant: string; round: number; detail: HttpRun | { added: number; addedPerSecond: number } }[];
  memory: { web: { peakMiB: number; idleRssMiB: number }; noopWeb: { peakMiB: number; idleRssMiB: number } };
}

/**
 * What an intake measurement needs, for `phase`: a database seeded with 100 users and 100
 * products, a stage, the PlaceOrder body to post, and a ready web process on a free port (tracked).
 */
export async function startIntakeWeb(context: BenchContext, phase: string) {
  const databaseUrl = await context.dbs.create(phase);
  const catalog = await seedCatalog(databaseUrl, { users: 100, products: 100 });
  const stage = await newStage(context, phase, databaseUrl);
  const body = JSON.stringify(orderBody(catalog));
  const port = await freePort();
  const web = await startRole('web', stage, { port, nodeFlags: context.nodeFlags });
  context.track(web.process);
  return { stage, body, port, web };
}

/**
 * Intake: POST /v1/orders accepted per second by the web process under autocannon (64
 * connections), against the same server with a no-op CommandSender and a bare queue.add loop.
 * The three run in turn, `rounds` times, so a burst of load from elsewhere hits all of them.
 */
export async function intakePhase(context: BenchContext): Promise<IntakeResult> {
  const { stage, body, port: realPort, web } = await startIntakeWeb(context, 'intake');
  const noopPort = await freePort();
  const noopStage = { ...stage, queuePrefix: `${stage.queuePrefix}-noop` };
  const noop = startNode('noop-web', benchEntry('intake/noop-web.js'), {
    env: systemEnv(noopStage, { PORT: String(noopPort) }),
    logDir: context.logDir,
    nodeFlags: context.nodeFlags,
  });
  context.track(noop);
  context.log(`intake: web pid ${web.process.pid}, no-op web pid ${noop.pid}`);
  await waitFor('noop-web /health/ready', async () => (await fetch(`http://127.0.0.1:${noopPort}/health/ready`)).ok, {
    process: noop,
  });
  const noopIdle = noop.memory()?.rssMiB ?? Number.NaN;
  const bareStage = { ...stage, queuePrefix: `${stage.queuePrefix}-bare` };

  const http = async (server: NodeProcess, port: number, seconds: number) => {
    const cpuBefore = server.cpu();
    const run = await runToResult<HttpRun>('autocannon', benchEntry('intake/http-load.js'), {
      args: [`http://127.0.0.1:${port}/v1/orders`, String(seconds), String(INTAKE_CONNECTIONS)],
      env: { BENCH_BODY: body },
      logDir: context.logDir,
    });
    return { ...run, cpuMsPerCommand: ((server.cpu() - cpuBefore) * 1000) / run.accepted };
  };
  const bare = (seconds: number) =>
    runToResult<{ added: number; addedPerSecond: number; cpuMsPerCommand: number }>('queue-add', benchEntry('intake/queue-add.js'), {
      args: [String(seconds), String(INTAKE_CONNECTIONS)],
      env: { BENCH_BODY: body, REDIS_URL, QUEUE_PREFIX: bareStage.queuePrefix },
      logDir: context.logDir,
    });

  context.log('intake: warming up both servers (2 s each)');
  await http(web.process, realPort, 2);
  await http(noop, noopPort, 2);
  await clearStage(stage);

  const variants = {
    real: async () => {
      const run = await http(web.process, realPort, context.seconds);
      await clearStage(stage);
      return { rate: run.acceptedPerSecond, cpuMs: run.cpuMsPerCommand, detail: run };
    },
    noop: async () => {
      const run = await http(noop, noopPort, context.seconds);
      return { rate: run.acceptedPerSecond, cpuMs: run.cpuMsPerCommand, detail: run };
    },
    bare: async () => {
      const run = await bare(context.seconds);
      await deletePrefix(bareStage.queuePrefix);
      return { rate: run.addedPerSecond, cpuMs: run.cpuMsPerCommand, detail: run };
    },
  };
  type Variant = keyof typeof variants;
  const order: Variant[] = ['real', 'noop', 'bare'];
  const rates: Record<Variant, number[]> = { real: [], noop: [], bare: [] };
  const cpuMs: Record<Variant, number[]> = { real: [], noop: [], bare: [] };
  const busy: number[] = [];
  const redisCpu: Record<'real' | 'bare', number[]> = { real: [], bare: [] };
  const runs: IntakeResult['runs'] = [];
  for (let round = 1; round <= context.rounds; round += 1) {
    // Rotate the order each round, so no variant always runs first (or right after another).
    for (let i = 0; i < order.length; i += 1) {
      const variant = order[(i + round - 1) % order.length] as Variant;
      const busyBefore = machineBusySeconds();
      const redisBefore = await redisCpuSeconds();
      const started = performance.now();
      const { rate, cpuMs: cpu, detail } = await variants[variant]();
      const redisMs = (await redisCpuSeconds()) - redisBefore;
      const units = 'accepted' in detail ? detail.accepted : detail.added;
      if (variant !== 'noop') redisCpu[variant].push((redisMs * 1000) / units);
      busy.push(((machineBusySeconds() - busyBefore) * 1000) / (performance.now() - started));
      rates[variant].push(rate);
      cpuMs[variant].push(cpu);
      runs.push({ variant, round, detail });
      context.log(`intake: round ${round} ${variant.padEnd(4)} ${rate.toFixed(0)}/s, ${cpu.toFixed(3)} CPU ms each`);
    }
  }

  const memory = {
    web: { peakMiB: web.process.memory()?.peakMiB ?? Number.NaN, idleRssMiB: web.idleRssMiB },
    noopWeb: { peakMiB: noop.memory()?.peakMiB ?? Number.NaN, idleRssMiB: noopIdle },
  };
  await Promise.all([web.process.stop(), noop.stop()]);
  await Promise.all([clearStage(stage), clearStage(noopStage), clearStage(bareStage)]);

  const real = summarize(rates.real);
  const noopSummary = summarize(rates.noop);
  const bareSummary = summarize(rates.bare);
  return {
    real,
    noop: noopSummary,
    bare: bareSummary,
    ratioToNoop: real.median / noopSummary.median,
    ratioToBare: real.median / bareSummary.median,
    cpuMsPerCommand: { real: summarize(cpuMs.real), noop: summarize(cpuMs.noop), bare: summarize(cpuMs.bare) },
    redisCpuMsPerCommand: { real: summarize(redisCpu.real), bare: summarize(redisCpu.bare) },
    machineBusyCores: summarize(busy),
    runs,
    memory,
  };
}
