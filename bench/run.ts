// `npm run bench`: measures conveyor against baselines run on the same machine in the same run,
// prints a table and writes bench/results/latest.json. See docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { intakePhase } from './intake/phase.js';
import { orderingPhase } from './ordering/phase.js';
import { livePhase } from './live/phase.js';
import { E2E_LOW_RATE, E2E_RATE, pipelinePhase } from './pipeline/phase.js';
import { hotProductPhase } from './processing/hot-product.js';
import { processingPhase } from './processing/phase.js';
import type { BenchContext } from './lib/context.js';
import { BenchDatabases } from './lib/database.js';
import { wallClockOffsetMs } from './lib/load.js';
import { describeMachine, loopbackRoundTripUs } from './lib/machine.js';
import { renderNoise, renderTable, type Results } from './lib/report.js';
import { RESULTS_DIR } from './lib/paths.js';
import type { NodeProcess } from './lib/processes.js';
import { deleteMatching } from './lib/redis.js';
import { cleanUpOnAbnormalExit } from './lib/shutdown.js';

const PHASES = ['intake', 'processing', 'hot', 'ordering', 'events', 'e2e', 'live'] as const;
type Phase = (typeof PHASES)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'log-level': { type: 'string' },
    concurrency: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    env: { type: 'string', multiple: true },
    'e2e-rates': { type: 'string' },
  },
});
const only = new Set((values.only ?? PHASES.join(',')).split(',').map((name) => name.trim()) as Phase[]);
for (const phase of only) if (!PHASES.includes(phase)) throw new Error(`unknown phase ${phase}; phases: ${PHASES.join(', ')}`);
const e2eRates = parseE2eRates(values['e2e-rates']);

const dbs = new BenchDatabases();
const runId = dbs.runId;
const logDir = path.join(RESULTS_DIR, 'logs', runId);
mkdirSync(logDir, { recursive: true });
const tmpDir = path.join(os.tmpdir(), `conveyor-bench-${runId}`);
mkdirSync(tmpDir, { recursive: true });
const processes = new Set<NodeProcess>();
const context: BenchContext = {
  dbs,
  runId,
  logDir,
  tmpDir,
  rounds: Number(values.rounds ?? (values.quick ? 1 : 3)),
  seconds: Number(values.seconds ?? (values.quick ? 3 : 5)),
  logLevel: values['log-level'] ?? 'warn',
  concurrency: Number(values.concurrency ?? 16),
  env: parseEnv(values.env ?? []),
  e2eRates,
  nodeFlags: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(logDir, 'profiles')}`] : [],
  log: (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`),
  track: (proc) => {
    processes.add(proc);
    void proc.exited.then(() => processes.delete(proc));
  },
};

/** PostgreSQL's deadlocks in each phase's database, read just before they are dropped. */
let deadlocks: Record<string, number> | undefined;

async function cleanUp(): Promise<void> {
  await Promise.allSettled([...processes].map((proc) => proc.stop(5000)));
  // A diagnostic: a failure to read it must not keep the databases from being dropped.
  deadlocks = await new Promise((resolve) => setTimeout(resolve, 1000))
    .then(() => dbs.deadlocks())
    .catch(() => undefined);
  await dbs.dropAll();
  // Every phase's prefix (`bench-<run>-<phase>`, and the baselines' under it), however the run ended.
  await deleteMatching(`bench-${runId}*`).catch(() => undefined);
  rmSync(tmpDir, { recursive: true, force: true });
}
const shutdown = cleanUpOnAbnormalExit(cleanUp, (message) => context.log(message));

const machine = await describeMachine();
context.log(`run ${runId}: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}`);
const results: Results = {};
// Steps of the wall clock during each phase, in ms: a latency measured between two processes
// across a step is off by up to that much (timestamps are the wall clock's; see lib/load.ts).
const clockSteps: Record<string, number> = {};
async function phase<T>(name: string, run: () => Promise<T>): Promise<T> {
  const before = wallClockOffsetMs();
  try {
    return await run();
  } finally {
    const moved = wallClockOffsetMs() - before;
    if (Math.abs(moved) >= 5) {
      clockSteps[name] = Math.round(moved);
      context.log(`${name}: the wall clock stepped ${Math.round(moved)} ms during the phase`);
    }
  }
}
try {
  if (only.has('intake')) results.intake = await phase('intake', () => intakePhase(context));
  if (only.has('processing')) results.processing = await phase('processing', () => processingPhase(context));
  if (only.has('hot')) results.hotProduct = await phase('hot', () => hotProductPhase(context));
  if (only.has('ordering')) results.ordering = await phase('ordering', () => orderingPhase(context));
  if (only.has('events') || only.has('e2e')) {
    results.pipeline = await phase('pipeline', () => pipelinePhase(context, { events: only.has('events'), e2e: only.has('e2e') }));
  }
  if (only.has('live')) results.live = await phase('live', () => livePhase(context));
} finally {
  await shutdown.cleanUp();
}
// Interrupted or crashed meanwhile: the process exits once the clean-up is done, with no report.
if (shutdown.stopping) await new Promise<never>(() => undefined);
machine.loadAverage.end = os.loadavg()[0] ?? Number.NaN;
machine.loopbackRoundTripUs.end = await loopbackRoundTripUs();
const settings = { rounds: context.rounds, seconds: context.seconds, logLevel: context.logLevel, concurrency: context.concurrency, env: context.env };
const { markdown, verdicts } = renderTable(machine, settings, results);
const commit = gitCommit();
const report = { runId, date: new Date().toISOString(), commit, machine, settings, verdicts, results, deadlocks, clockSteps };
mkdirSync(RESULTS_DIR, { recursive: true });
const jsonFile = path.join(RESULTS_DIR, 'latest.json');
writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nconveyor benchmarks (run ${runId}${commit ? `, commit ${commit}` : ''})\n`);
console.log(markdown);
const noise = renderNoise(results);
if (noise) console.log(`\nNoise (each round; the median is reported):\n${noise}`);
if (deadlocks) {
  const counts = Object.entries(deadlocks).map(([phase, count]) => `${phase} ${count}`);
  console.log(`\nPostgreSQL deadlocks in each phase's database (every system of the phase; each stalls its transactions for deadlock_timeout): ${counts.join(' · ') || 'none read'}`);
}
const steps = Object.entries(clockSteps).map(([name, ms]) => `${name} ${ms > 0 ? '+' : ''}${ms} ms`);
console.log(
  steps.length > 0
    ? `\nThe wall clock stepped during: ${steps.join(' · ')}. Latencies between two processes measured across the step are off by up to that much.`
    : '\nThe wall clock did not step during the run (checked against the monotonic clock around each phase).',
);
console.log(`\nTargets: ${verdicts.map((v) => `${v.figure} ${v.met ? 'met' : 'NOT met'}`).join(', ')}`);
console.log(`Full results: ${path.relative(process.cwd(), jsonFile)}; process logs: ${path.relative(process.cwd(), logDir)}`);

/** `--e2e-rates 150,100`: the end-to-end phase's two rounds, orders per second (the issue's by default). */
function parseE2eRates(spec: string | undefined): readonly [number, number] {
  if (spec === undefined) return [E2E_RATE, E2E_LOW_RATE];
  const rates = spec.split(',').map((rate) => Number(rate.trim()));
  if (rates.length !== 2 || !rates.every((rate) => Number.isInteger(rate) && rate >= 1 && rate <= 10_000)) {
    throw new Error(`--e2e-rates: two whole numbers of orders per second from 1 to 10000, as 200,50; not ${JSON.stringify(spec)}`);
  }
  return [rates[0]!, rates[1]!];
}

/** `--env KEY=VALUE` (repeatable): a setting of config.ts given to every system process. */
function parseEnv(specs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const spec of specs) {
    const at = spec.indexOf('=');
    if (at < 1 || !/^[A-Z][A-Z0-9_]*$/.test(spec.slice(0, at))) throw new Error(`--env KEY=VALUE, not ${JSON.stringify(spec)}`);
    env[spec.slice(0, at)] = spec.slice(at + 1);
  }
  return env;
}

function gitCommit(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return undefined;
  }
}
