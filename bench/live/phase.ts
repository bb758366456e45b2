import { once } from 'node:events';
import type { BenchContext } from '../lib/context.js';
import { clearStage } from '../lib/context.js';
import { benchEntry } from '../lib/paths.js';
import { cpuSeconds, runToResult, sleep, startNode, type NodeProcess } from '../lib/processes.js';
import { summarize, type Summary } from '../lib/stats.js';
import { API_KEY } from '../lib/system.js';
import { INTAKE_CONNECTIONS, startIntakeWeb } from '../intake/phase.js';
import { socketsOf, type Sockets } from './sockets.js';

/** Idle followers of the web process while intake is measured: event streams and ?wait= requests. */
export const IDLE_STREAMS = 1000;
export const IDLE_WAITS = 1000;
/** Commands the idle clients follow, scheduled a day ahead: nothing happens to them during the run. */
const FOLLOWED_COMMANDS = 500;
/** How long the web process's CPU is sampled while nothing but the idle clients is going on. */
const IDLE_SAMPLE_MS = 5000;

export interface LiveResult {
  idleClients: { streams: number; waits: number };
  /** POST /v1/orders accepted per second without and with the idle clients, and with ÷ without (medians). */
  intake: { without: Summary; with: Summary; ratio: number };
  /** Web CPU ms per accepted command, without and with the idle clients. */
  cpuMsPerCommand: { without: Summary; with: Summary };
  /** Share of one core the web process used while idle (no intake), without and with the idle clients. */
  idleCpuPercent: { without: Summary; with: Summary };
  /** The TCP connections the web process held while idle, without and with the clients. */
  sockets: { without: Sockets; with: Sockets };
  /** RSS of the web process while idle, without and with the clients (MiB). */
  rssMiB: { without: number; with: number };
  runs: { variant: string; round: number; acceptedPerSecond: number; latencyMs: { p50: number; p99: number; max: number } }[];
}

interface HttpRun {
  accepted: number;
  acceptedPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
}

/**
 * Live status (issue 12): does a web process holding ~2000 idle followers (event streams and
 * ?wait= requests, one connection each) take intake any slower? Intake (POST /v1/orders, 64
 * connections, as the intake phase) is measured without and with the followers connected, in
 * turn, `rounds` times; the idle web process's CPU and connections are sampled in both states.
 */
export async function livePhase(context: BenchContext): Promise<LiveResult> {
  const { stage, body, port, web } = await startIntakeWeb(context, 'live');
  const base = `http://127.0.0.1:${port}`;
  const followed = await scheduleCommands(base, FOLLOWED_COMMANDS);
  context.log(`live: web pid ${web.process.pid}; ${followed.length} commands scheduled a day ahead to follow`);

  const intake = async (seconds: number): Promise<HttpRun & { cpuMs: number }> => {
    const cpuBefore = web.process.cpu();
    const run = await runToResult<HttpRun>('autocannon', benchEntry('intake/http-load.js'), {
      args: [`${base}/v1/orders`, String(seconds), String(INTAKE_CONNECTIONS)],
      env: { BENCH_BODY: body },
      logDir: context.logDir,
    });
    // Only the commands of this run go: the followed ones keep their scheduled_commands rows.
    await clearStage(stage);
    return { ...run, cpuMs: ((web.process.cpu() - cpuBefore) * 1000) / run.accepted };
  };
  const idleCpuPercent = async () => {
    const before = cpuSeconds(web.process.pid);
    await sleep(IDLE_SAMPLE_MS);
    return ((cpuSeconds(web.process.pid) - before) * 1000 * 100) / IDLE_SAMPLE_MS;
  };

  context.log('live: warming up (2 s)');
  await intake(2);

  const rates = { without: [] as number[], with: [] as number[] };
  const cpuMs = { without: [] as number[], with: [] as number[] };
  const idle = { without: [] as number[], with: [] as number[] };
  let sockets: LiveResult['sockets'] = { without: socketsOf(web.process.pid, port), with: socketsOf(web.process.pid, port) };
  const rssMiB = { without: Number.NaN, with: Number.NaN };
  const runs: LiveResult['runs'] = [];
  for (let round = 1; round <= context.rounds; round += 1) {
    const order = round % 2 === 1 ? (['without', 'with'] as const) : (['with', 'without'] as const);
    for (const variant of order) {
      let clients: NodeProcess | undefined;
      if (variant === 'with') clients = await startIdleClients(context, base, followed);
      try {
        idle[variant].push(await idleCpuPercent());
        sockets = { ...sockets, [variant]: socketsOf(web.process.pid, port) };
        rssMiB[variant] = web.process.memory()?.rssMiB ?? Number.NaN;
        const run = await intake(context.seconds);
        rates[variant].push(run.acceptedPerSecond);
        cpuMs[variant].push(run.cpuMs);
        runs.push({ variant, round, acceptedPerSecond: run.acceptedPerSecond, latencyMs: run.latencyMs });
        context.log(
          `live: round ${round} ${variant.padEnd(7)} ${run.acceptedPerSecond.toFixed(0)}/s, ${run.cpuMs.toFixed(3)} CPU ms each; ` +
            `idle web ${idle[variant].at(-1)?.toFixed(1)} % of a core; sockets ${JSON.stringify(sockets[variant])}`,
        );
      } finally {
        await clients?.stop(5000);
      }
    }
  }
  await web.process.stop();
  await clearStage(stage);

  const without = summarize(rates.without);
  const withClients = summarize(rates.with);
  return {
    idleClients: { streams: IDLE_STREAMS, waits: IDLE_WAITS },
    intake: { without, with: withClients, ratio: withClients.median / without.median },
    cpuMsPerCommand: { without: summarize(cpuMs.without), with: summarize(cpuMs.with) },
    idleCpuPercent: { without: summarize(idle.without), with: summarize(idle.with) },
    sockets,
    rssMiB,
    runs,
  };
}

/** POSTs `count` RegisterUser commands with Run-At a day ahead; returns their command ids. */
async function scheduleCommands(base: string, count: number): Promise<string[]> {
  const runAt = new Date(Date.now() + 24 * 3600_000).toISOString();
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${base}/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'run-at': runAt },
      body: JSON.stringify({ email: `followed-${i}@example.com`, name: 'Followed' }),
    });
    if (response.status !== 202) throw new Error(`scheduling a command answered ${response.status}: ${await response.text()}`);
    ids.push(((await response.json()) as { commandId: string }).commandId);
  }
  return ids;
}

/** Starts the idle clients and waits until every one is connected. */
async function startIdleClients(context: BenchContext, base: string, commandIds: string[]): Promise<NodeProcess> {
  const clients = startNode('idle-clients', benchEntry('live/idle-clients.js'), {
    args: [base, String(IDLE_STREAMS), String(IDLE_WAITS)],
    env: { BENCH_COMMANDS: commandIds.join(',') },
    logDir: context.logDir,
    ipc: true,
  });
  context.track(clients);
  const ready = once(clients.child, 'message') as Promise<[string]>;
  const [message] = await Promise.race([
    ready,
    sleep(60_000).then(() => {
      throw new Error('the idle clients did not connect within 60 s');
    }),
  ]);
  context.log(`live: idle clients ${message}`);
  // Let the connections settle (the first reads of every follower) before anything is measured.
  await sleep(1000);
  return clients;
}
