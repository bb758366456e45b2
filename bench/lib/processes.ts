import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
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
