import { randomBytes } from 'node:crypto';
import { QUEUES, type QueueName } from '../../queues/names.js';
import { clearStage, newStage, type BenchContext } from '../lib/context.js';
import { benchEntry } from '../lib/paths.js';
import { cpuSecondsBetween, cpuSecondsByPid, runToResult, sleep, startNode, waitFor, type NodeProcess } from '../lib/processes.js';
import { redisCpuSeconds } from '../lib/redis.js';
import { addWebhookEndpoint, seedCatalog } from '../lib/seed.js';
import { latencies, median, steadyRate, summarize, type LatencySummary, type Summary } from '../lib/stats.js';
import { freePort, roleAvailable, startRole, withQueue, type Role, type RunningRole, type Stage } from '../lib/system.js';
import type { CapturedStatement } from '../processing/capture.js';
import { measureHopFloor, type HopFloor } from './floor.js';
import type { Accepted } from './http-pacer.js';
import type { Delivery, ReceiverReply, ReceiverRequest } from './receiver.js';
import { SmtpSink } from './smtp-sink-process.js';
import { relayMakesFirstAttempts, stageBreakdown, type StageName } from './stages.js';

/** Commits per second offered to the events path, and HTTP commands per second end to end. */
export const EVENTS_RATE = 500;
/** The end-to-end targets' rates (issue 10); `--e2e-rates` runs the rounds at others. */
export const E2E_RATE = 200;
export const E2E_LOW_RATE = 50;
/** The first seconds of a paced run are left out of its latency figures (JIT, pools filling). */
export const WARM_UP_MS = 2000;

export interface Lag {
  /**
   * Median latency in the first and in the last second of the measured window: a backlog
   * (the source outpacing the path) shows as the second far above the first.
   */
  trendMs: { firstSecondP50: number; lastSecondP50: number };
  offeredPerSecond: number;
  /** What the source actually achieved (commits or accepted POSTs per second). */
  achievedPerSecond: number;
  /** Orders whose webhook was expected (after the warm-up), received, and never received. */
  expected: number;
  received: number;
  missing: number;
  latencyMs: LatencySummary;
}

export interface EventsResult {
  /** Outbox rows (from a committed backlog) turned into received webhooks per second: relay + webhooks workers. */
  throughput: {
    system: Summary;
    bare: Summary;
    ratio: number;
    rowsPerRound: number;
    /** CPU ms each process spent per order (one webhook and one email each), median of the rounds. */
    cpuMsPerOrder: Partial<Record<Role, number>>;
  };
  /** Lag from COMMIT to receipt with commits at a steady EVENTS_RATE per second. */
  lag: Lag & { fromOccurredAtMs: LatencySummary };
  /** The same at half the measured throughput: the path's own latency, without a backlog. */
  lagBelowSaturation: Lag & { fromOccurredAtMs: LatencySummary };
  /** Round trip of one signed POST to the receiver from a bare undici loop: the floor of the last hop. */
  bareRoundTripMs: LatencySummary;
}

export interface E2eResult {
  /** POST /v1/orders (open loop, the first of `--e2e-rates`, E2E_RATE by default) to webhook received. */
  lag: Lag;
  /** The same at the second of `--e2e-rates` (E2E_LOW_RATE by default). */
  lagBelowSaturation: Lag;
  /** CPU ms each process spent per order during the E2E_RATE run (queues drained). */
  cpuMsPerOrder: Partial<Record<Role, number>>;
  /** The same during the E2E_LOW_RATE run. */
  cpuMsPerOrderLow: Partial<Record<Role, number>>;
  /** Write system calls (socket writes, mostly) each process made per order, at E2E_RATE and E2E_LOW_RATE. */
  writesPerOrder: Partial<Record<Role, number>>;
  writesPerOrderLow: Partial<Record<Role, number>>;
  /**
   * CPU ms per order of the servers, at E2E_RATE and E2E_LOW_RATE: PostgreSQL (its local
   * processes; null when it is not on this machine) and Redis (INFO cpu). Upper bounds: anything
   * else using them counts too.
   */
  serversCpuMsPerOrder: { postgres: number | null; redis: number };
  serversCpuMsPerOrderLow: { postgres: number | null; redis: number };
  /** Where the time goes (stages.ts), after the warm-up, at E2E_RATE and at E2E_LOW_RATE. */
  stagesMs: Record<StageName, LatencySummary>;
  stagesMsLow: Record<StageName, LatencySummary>;
  /**
   * CPU ms per request or job of one hop doing nothing (an HTTP request, a BullMQ job), paced at
   * E2E_RATE and E2E_LOW_RATE (floor.ts): what a hop costs on this machine at those rates.
   */
  hopFloorCpuMs?: HopFloor;
  /** Messages the bench's SMTP server accepted over the whole pipeline phase. */
  smtpMessages: number;
  /** POST → 202, measured from when each request was due. */
  responseMs: LatencySummary;
  statuses: Record<string, number>;
}

export interface PipelineResult {
  events?: EventsResult;
  e2e?: E2eResult;
  /** Deliveries whose Standard Webhooks signature was checked by the receiver, and how many were valid. */
  signatures: { checked: number; valid: number };
  duplicates: number;
  memory: Partial<Record<Role, { peakMiB: number; idleRssMiB: number }>>;
  /** Roles that could not run (not built in this tree). */
  missingRoles: Role[];
}

/** The receiver child and a promise-based view of its IPC. */
class Receiver {
  private signatures = { checked: 0, valid: 0 };
  private duplicates = 0;

  private constructor(readonly process: NodeProcess) {}

  static async start(context: BenchContext, port: number, secret: string): Promise<Receiver> {
    const proc = startNode('receiver', benchEntry('pipeline/receiver.js'), {
      args: [String(port)],
      env: { WEBHOOK_SECRET: secret },
      logDir: context.logDir,
      ipc: true,
    });
    context.track(proc);
    const receiver = new Receiver(proc);
    await receiver.reply('listening', undefined);
    return receiver;
  }

  private reply<T extends ReceiverReply['type']>(type: T, request: ReceiverRequest | undefined): Promise<Extract<ReceiverReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: ReceiverReply) => {
        if (message.type !== type) return;
        this.process.child.off('message', onMessage);
        resolve(message as Extract<ReceiverReply, { type: T }>);
      };
      this.process.child.on('message', onMessage);
      if (request) this.process.child.send(request, (error) => error && reject(error));
    });
  }

  async count(): Promise<number> {
    return (await this.reply('count', { type: 'count' })).count;
  }

  /** The deliveries received since the last take. */
  async take(): Promise<Delivery[]> {
    const reply = await this.reply('deliveries', { type: 'take' });
    this.signatures = reply.signatures;
    this.duplicates = reply.duplicates;
    return reply.deliveries;
  }

  stats() {
    return { signatures: this.signatures, duplicates: this.duplicates };
  }

  /** Waits until `count` deliveries arrived since the last take (or the timeout passes). */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.count()) < count && Date.now() < deadline) await sleep(200);
  }
}

/**
 * Events and end to end, on one set of system processes (worker, relay, webhooks, mailer, and
 * web for end to end) and one local webhook receiver subscribed to order.placed.
 */
export async function pipelinePhase(context: BenchContext, parts: { events: boolean; e2e: boolean }): Promise<PipelineResult> {
  const databaseUrl = await context.dbs.create('pipeline');
  const catalog = await seedCatalog(databaseUrl);
  // The mailer sends through a real SMTP server (smtp-sink.ts), not to .eml files.
  const smtp = await SmtpSink.start(context.logDir, (proc) => context.track(proc));
  const stage: Stage = { ...(await newStage(context, 'pipeline', databaseUrl)), smtpUrl: `smtp://127.0.0.1:${smtp.port}` };
  const capture = await runToResult<{ statements: CapturedStatement[]; input: unknown }>('capture', benchEntry('processing/capture.js'), {
    env: { DATABASE_URL: databaseUrl, BENCH_CATALOG: JSON.stringify(catalog) },
    logDir: context.logDir,
  });
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const receiverPort = await freePort();
  const receiverUrl = `http://127.0.0.1:${receiverPort}/hooks/conveyor`;
  await addWebhookEndpoint(databaseUrl, receiverUrl, ['order.placed'], secret);
  const receiver = await Receiver.start(context, receiverPort, secret);

  const missingRoles = (['worker', 'relay', 'webhooks', 'mailer', 'web'] as const).filter((role) => !roleAvailable(role));
  const essential = missingRoles.filter((role) => role !== 'mailer');
  if (essential.length > 0) throw new Error(`cannot measure events/e2e: ${essential.join(', ')} not built`);

  const running = new Map<Role, RunningRole>();
  const peaks: PipelineResult['memory'] = {};
  const start = async (role: Role, options: { port?: number } = {}) => {
    const started = await startRole(role, stage, { nodeFlags: context.nodeFlags, ...options });
    context.track(started.process);
    context.log(`pipeline: ${role} started (pid ${started.process.pid})`);
    running.set(role, started);
    return started;
  };
  const stop = async (role: Role) => {
    const role_ = running.get(role);
    if (!role_) return;
    recordPeak(peaks, role, role_);
    running.delete(role);
    await role_.process.stop();
  };
  const committer = (args: string[]) =>
    runToResult<{ commits: [string, number, number][]; failed: number; committedPerSecond: number }>(
      'committer',
      benchEntry('pipeline/committer.js'),
      {
        args,
        env: { DATABASE_URL: databaseUrl, BENCH_CAPTURE: JSON.stringify(capture), BENCH_CATALOG: JSON.stringify(catalog) },
        logDir: context.logDir,
        timeoutMs: 300_000,
      },
    );

  try {
    await start('webhooks');
    if (!missingRoles.includes('mailer')) await start('mailer');
    await start('relay');
    const result: PipelineResult = { signatures: { checked: 0, valid: 0 }, duplicates: 0, memory: peaks, missingRoles };

    if (parts.events) {
      // Throughput: with the relay stopped, commit a backlog of orders, then start the relay
      // and time the webhooks arriving.
      const throughputRound = async (rows: number) => {
        await stop('relay');
        await committer(['burst', String(rows), String(context.concurrency)]);
        await receiver.take();
        await start('relay');
        const before = cpuSnapshot(running);
        await receiver.waitFor(rows, 60_000 + rows * 20);
        const received = await receiver.take();
        await drained(stage, [QUEUES.webhooks, QUEUES.emails]);
        return { rate: steadyRate(received.map((delivery) => delivery.receivedAt)), cpu: cpuPerUnit(before, cpuSnapshot(running), rows) };
      };
      const bareRound = async (rows: number) => {
        const run = await runToResult<{ finished: number[]; roundTripMs: LatencySummary }>('bare-deliver', benchEntry('pipeline/bare-deliver.js'), {
          args: [receiverUrl, String(rows), String(context.concurrency)],
          env: { WEBHOOK_SECRET: secret },
          logDir: context.logDir,
        });
        await receiver.take();
        return { rate: steadyRate(run.finished), roundTripMs: run.roundTripMs };
      };
      const { rate: warm } = await throughputRound(1000);
      const rowsPerRound = Math.min(10_000, Math.max(1000, Math.round(warm * context.seconds)));
      context.log(`events: warm-up ${warm.toFixed(0)} webhooks/s; ${rowsPerRound} outbox rows per round`);
      const rates = { system: [] as number[], bare: [] as number[] };
      const cpuRounds: Partial<Record<Role, number>>[] = [];
      let bareRoundTripMs: LatencySummary | undefined;
      for (let round = 1; round <= context.rounds; round += 1) {
        const { rate: system, cpu } = await throughputRound(rowsPerRound);
        cpuRounds.push(cpu);
        const bare = await bareRound(rowsPerRound);
        rates.system.push(system);
        rates.bare.push(bare.rate);
        bareRoundTripMs ??= bare.roundTripMs;
        context.log(`events: round ${round} outbox→webhook ${system.toFixed(0)}/s, bare signed POST ${bare.rate.toFixed(0)}/s`);
      }

      // Lag at a steady rate of commits: the target's rate, then half what the path sustained.
      const seconds = Math.max(6, context.seconds * 2);
      const pacedLag = async (perSecond: number) => {
        context.log(`events: ${perSecond} commits/s for ${seconds} s`);
        await receiver.take();
        const paced = await committer(['paced', String(perSecond), String(seconds)]);
        await receiver.waitFor(paced.commits.length, 60_000);
        const received = await receiver.take();
        await drained(stage, [QUEUES.webhooks, QUEUES.emails]);
        const byOrder = new Map(received.map((delivery) => [delivery.orderId, delivery]));
        const t0 = Math.min(...paced.commits.map(([, due]) => due));
        const measured = paced.commits.filter(([, due]) => due - t0 >= WARM_UP_MS);
        const pairs = measured.flatMap(([orderId, due, committed]) => {
          const delivery = byOrder.get(orderId);
          return delivery ? [[due, delivery.receivedAt - committed] as const] : [];
        });
        const lag = pairs.map(([, value]) => value);
        const fromOccurred = measured.flatMap(([orderId]) => {
          const delivery = byOrder.get(orderId);
          return delivery ? [delivery.receivedAt - delivery.occurredAt] : [];
        });
        const result_ = {
          trendMs: trend(pairs),
          offeredPerSecond: perSecond,
          achievedPerSecond: paced.committedPerSecond,
          expected: measured.length,
          received: lag.length,
          missing: measured.length - lag.length,
          latencyMs: latencies(lag),
          fromOccurredAtMs: latencies(fromOccurred),
        };
        context.log(
          `events: at ${perSecond}/s lag p50 ${result_.latencyMs.p50.toFixed(1)} p95 ${result_.latencyMs.p95.toFixed(1)} p99 ${result_.latencyMs.p99.toFixed(1)} ms (${lag.length}/${measured.length} received, ${paced.committedPerSecond.toFixed(0)} commits/s achieved)`,
        );
        return result_;
      };
      const lag = await pacedLag(EVENTS_RATE);
      const system_ = summarize(rates.system).median;
      const lagBelowSaturation = await pacedLag(Math.max(10, Math.min(EVENTS_RATE, Math.round(system_ / 2 / 10) * 10)));
      const system = summarize(rates.system);
      const bare = summarize(rates.bare);
      const cpuMsPerOrder: Partial<Record<Role, number>> = {};
      for (const role of ['relay', 'webhooks', 'mailer'] as const) {
        const values = cpuRounds.flatMap((round) => (round[role] === undefined ? [] : [round[role]]));
        if (values.length > 0) cpuMsPerOrder[role] = summarize(values).median;
      }
      result.events = {
        throughput: { system, bare, ratio: system.median / bare.median, rowsPerRound, cpuMsPerOrder },
        lag,
        lagBelowSaturation,
        bareRoundTripMs: bareRoundTripMs ?? latencies([]),
      };
    }

    if (parts.e2e) {
      await start('worker');
      const webPort = await freePort();
      await start('web', { port: webPort });
      const seconds = Math.max(8, context.seconds * 2);
      const pacedHttp = async (perSecond: number) => {
        context.log(`e2e: ${perSecond} POST /v1/orders per second for ${seconds} s`);
        await receiver.take();
        const before = cpuSnapshot(running);
        const writesBefore = writesSnapshot(running);
        const serversBefore = { postgres: cpuSecondsByPid('postgres'), redis: await redisCpuSeconds() };
        const run = await runToResult<{ accepted: Accepted[]; statuses: Record<string, number>; responseMs: LatencySummary; seconds: number }>(
          'http-pacer',
          benchEntry('pipeline/http-pacer.js'),
          {
            args: [`http://127.0.0.1:${webPort}/v1/orders`, String(perSecond), String(seconds)],
            env: { BENCH_CATALOG: JSON.stringify(catalog) },
            logDir: context.logDir,
            timeoutMs: 300_000,
          },
        );
        await receiver.waitFor(run.accepted.length, 120_000);
        const received = await receiver.take();
        await drained(stage, [QUEUES.commands, QUEUES.webhooks, QUEUES.emails]);
        const cpu = cpuPerUnit(before, cpuSnapshot(running), run.accepted.length);
        const writes = perUnit(writesBefore, writesSnapshot(running), run.accepted.length, 1);
        const postgresSeconds = serversBefore.postgres.size > 0 ? cpuSecondsBetween(serversBefore.postgres, cpuSecondsByPid('postgres')) : null;
        const servers = {
          postgres: postgresSeconds === null ? null : (postgresSeconds * 1000) / run.accepted.length,
          redis: (((await redisCpuSeconds()) - serversBefore.redis) * 1000) / run.accepted.length,
        };
        const byOrder = new Map(received.map((delivery) => [delivery.orderId, delivery]));
        const t0 = Math.min(...run.accepted.map(([, due]) => due));
        const measured = run.accepted.filter(([, due]) => due - t0 >= WARM_UP_MS);
        const pairs = measured.flatMap(([orderId, due]) => {
          const delivery = byOrder.get(orderId);
          return delivery ? [[due, delivery.receivedAt - due] as const] : [];
        });
        const lag = pairs.map(([, value]) => value);
        const summary: Lag = {
          trendMs: trend(pairs),
          offeredPerSecond: perSecond,
          achievedPerSecond: run.accepted.length / run.seconds,
          expected: measured.length,
          received: lag.length,
          missing: measured.length - lag.length,
          latencyMs: latencies(lag),
        };
        context.log(
          `e2e: at ${perSecond}/s p50 ${summary.latencyMs.p50.toFixed(1)} p95 ${summary.latencyMs.p95.toFixed(1)} p99 ${summary.latencyMs.p99.toFixed(1)} ms (${lag.length}/${measured.length} received)`,
        );
        const stages = await withQueue(stage, QUEUES.commands, (commands) =>
          withQueue(stage, QUEUES.webhooks, (webhooks) =>
            stageBreakdown(databaseUrl, { commands, webhooks }, run.accepted, received, t0 + WARM_UP_MS, relayMakesFirstAttempts(context.env)),
          ),
        );
        context.log(`e2e: at ${perSecond}/s p50/p99 ${Object.entries(stages).map(([name, l]) => `${name} ${l.p50.toFixed(0)}/${l.p99.toFixed(0)}`).join(', ')} ms`);
        return { summary, run, cpu, writes, servers, stages };
      };
      const atRate = await pacedHttp(context.e2eRates[0]);
      const low = await pacedHttp(context.e2eRates[1]);
      // The floor is measured with the system's processes stopped (their idle work would count in
      // Redis's share), and it is a diagnostic: if it fails, the rounds' results still stand.
      for (const role of [...running.keys()]) await stop(role);
      const hopFloorCpuMs = await measureHopFloor(context, stage, catalog, context.e2eRates, seconds).catch((error: unknown) => {
        context.log(`e2e floor: not measured (${error instanceof Error ? error.message : String(error)})`);
        return undefined;
      });
      result.e2e = {
        lag: atRate.summary,
        lagBelowSaturation: low.summary,
        cpuMsPerOrder: atRate.cpu,
        cpuMsPerOrderLow: low.cpu,
        writesPerOrder: atRate.writes,
        writesPerOrderLow: low.writes,
        serversCpuMsPerOrder: atRate.servers,
        serversCpuMsPerOrderLow: low.servers,
        stagesMs: atRate.stages,
        stagesMsLow: low.stages,
        ...(hopFloorCpuMs ? { hopFloorCpuMs } : {}),
        smtpMessages: await smtp.count(),
        responseMs: atRate.run.responseMs,
        statuses: atRate.run.statuses,
      };
    }
    Object.assign(result, receiver.stats());
    return result;
  } finally {
    for (const role of [...running.keys()]) await stop(role);
    await receiver.process.stop();
    await smtp.process.stop();
    await clearStage(stage);
  }
}

/** Median latency of the first and the last second of (due time, latency) pairs. */
function trend(pairs: readonly (readonly [number, number])[]): Lag['trendMs'] {
  const dues = pairs.map(([due]) => due);
  const first = Math.min(...dues);
  const last = Math.max(...dues);
  return {
    firstSecondP50: median(pairs.filter(([due]) => due < first + 1000).map(([, value]) => value)),
    lastSecondP50: median(pairs.filter(([due]) => due > last - 1000).map(([, value]) => value)),
  };
}

type CpuSnapshot = Map<Role, number>;

function cpuSnapshot(running: Map<Role, RunningRole>): CpuSnapshot {
  return new Map([...running].map(([role, process_]) => [role, process_.process.cpu()]));
}

/** Write system calls of each running role so far. */
function writesSnapshot(running: Map<Role, RunningRole>): CpuSnapshot {
  return new Map([...running].map(([role, process_]) => [role, process_.process.writes()]));
}

/** CPU ms per unit of each role between two snapshots (roles present in both). */
function cpuPerUnit(before: CpuSnapshot, after: CpuSnapshot, units: number): Partial<Record<Role, number>> {
  return perUnit(before, after, units, 1000);
}

/** `scale` × the growth per unit of each role between two snapshots (roles present in both). */
function perUnit(before: CpuSnapshot, after: CpuSnapshot, units: number, scale: number): Partial<Record<Role, number>> {
  const result: Partial<Record<Role, number>> = {};
  for (const [role, end] of after) {
    const start = before.get(role);
    if (start !== undefined) result[role] = ((end - start) * scale) / units;
  }
  return result;
}

function recordPeak(peaks: PipelineResult['memory'], role: Role, running: RunningRole): void {
  const peak = running.process.memory()?.peakMiB ?? Number.NaN;
  const before = peaks[role];
  if (!before || !(before.peakMiB >= peak)) peaks[role] = { peakMiB: peak, idleRssMiB: running.idleRssMiB };
}

/** A delayed job due later than this is not work of the round (a command with a Run-At, say). */
const DUE_WITHIN_ROUND_MS = 60_000;

/**
 * Waits until the given queues have nothing waiting, active, or delayed and due soon (what is
 * left competes for CPU). Order expiry is on as a user runs it (ORDER_CONFIRMATION_TIMEOUT, 30
 * minutes): no order of a round is due, so it adds no job, only the relay's sweep each second.
 */
async function drained(stage: Stage, names: QueueName[]): Promise<void> {
  for (const name of names) {
    await withQueue(stage, name, (queue) =>
      waitFor(
        `${name} queue drained`,
        async () => {
          const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
          if (!Object.values(counts).every((n) => n === 0)) return false;
          const [soonest] = await queue.getDelayed(0, 0);
          return soonest === undefined || soonest.timestamp + (soonest.delay ?? 0) > Date.now() + DUE_WITHIN_ROUND_MS;
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      ),
    );
  }
}
