import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './paths.js';

export interface Memory {
  /** Peak resident set since the process started (VmHWM), in MiB. */
  peakMiB: number;
  /** Resident set now (VmRSS), in MiB. */
  rssMiB: number;
}

/** VmHWM and VmRSS of a live process from /proc (Linux); null once it has exited. */
export function readMemory(pid: number): Memory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { peakMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

/**
 * CPU time (user + system, all threads) a process has used so far, in seconds, from
 * /proc/<pid>/stat (clock ticks of 1/100 s). Per unit of work it is a steadier figure than a
 * rate on a shared machine: other processes' load stretches the wall clock, not the CPU time.
 */
export function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  // Fields after the command name (which may hold spaces) start at ")"; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

/**
 * Write system calls a process has made so far (`syscw` of /proc/<pid>/io: write, writev and the
 * like, to sockets and files alike). The system's processes log little at LOG_LEVEL=warn, so
 * per order it counts socket writes: each one to an idle loopback peer also wakes that peer, the
 * cost that dominates at moderate load (docs/benchmarks.md).
 */
export function writeSyscalls(pid: number): number {
  try {
    return Number(/^syscw:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds used so far by each process whose command line starts with `name` (the local
 * PostgreSQL server's postmaster and backends), by pid: a backend that exits between two
 * readings takes its time with it, so a difference over a run is a slight underestimate of the
 * server's work, and an overestimate of the run's share when others use the server too.
 */
export function cpuSecondsByPid(name: string): Map<number, number> {
  const result = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith(name)) continue;
    } catch {
      continue;
    }
    const seconds = cpuSeconds(Number(entry));
    if (Number.isFinite(seconds)) result.set(Number(entry), seconds);
  }
  return result;
}

/** CPU seconds between two `cpuSecondsByPid` readings: processes in both, and new ones in full. */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** CPU seconds of the whole machine (all cores, busy time) from /proc/stat, and how many cores. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

export interface NodeProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves with the exit code or signal name. */
  exited: Promise<number | string>;
  memory(): Memory | null;
  /** CPU seconds used so far. */
  cpu(): number;
  /** Write system calls made so far (`writeSyscalls`). */
  writes(): number;
  /** SIGTERM (the graceful path every role implements), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  tail(lines?: number): Promise<string>;
}

export interface StartOptions {
  env: Record<string, string>;
  logDir: string;
  args?: string[];
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** An IPC channel to the child (the receiver and pacers report through it). */
  ipc?: boolean;
}

/** Starts `node <script>` as its own process (stdout and stderr to `<logDir>/<name>.log`). */
export function startNode(name: string, script: string, options: StartOptions): NodeProcess {
  const logFile = path.join(options.logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), script, ...(options.args ?? [])], {
    cwd: ROOT,
    // Only what the process needs: the bench's own NODE_OPTIONS and the like stay out.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  // A log that cannot be written (its directory removed under the run) loses the output, not
  // the run: the child's pipes keep draining so it never blocks on a full pipe.
  log.once('error', (error) => {
    process.stderr.write(`${name}: its log ${logFile} cannot be written (${error.message}); its output is dropped\n`);
    child.stdout?.resume();
    child.stderr?.resume();
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    log.end();
    return (code ?? signal) as number | string;
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${script})`);
  const pid = child.pid;
  let done = false;
  void exited.then(() => (done = true));
  return {
    name,
    child,
    pid,
    logFile,
    exited,
    memory: () => (done ? null : readMemory(pid)),
    cpu: () => cpuSeconds(pid),
    writes: () => writeSyscalls(pid),
    async stop(graceMs = 15_000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async tail(lines = 20) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    },
  };
}

/** Polls `probe` until it returns something truthy; fails with `what` and the process's log. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; intervalMs?: number; process?: NodeProcess } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (options.process && options.process.memory() === null) {
      throw new Error(`${options.process.name} exited while waiting for ${what}:\n${await options.process.tail()}`);
    }
    if (Date.now() > deadline) {
      const log = options.process ? `\n${await options.process.tail()}` : '';
      throw new Error(`timed out waiting for ${what}${log}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a bench script to completion and returns the JSON it printed on its last `RESULT ` line
 * (the one-shot load generators and baselines report so).
 */
export async function runToResult<T>(name: string, script: string, options: StartOptions & { timeoutMs?: number }): Promise<T> {
  const proc = startNode(name, script, options);
  let stdout = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const code = await proc.exited;
  clearTimeout(timer);
  const line = stdout
    .split('\n')
    .reverse()
    .find((text) => text.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`${name} failed (exit ${code}):\n${await proc.tail()}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

/** What a one-shot bench script prints last. */
export function printResult(result: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
