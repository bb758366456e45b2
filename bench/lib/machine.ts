import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { adminQuery } from './database.js';
import { redisVersion } from './redis.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  redis: string;
  /** 1-minute load average at the start and the end of the run: how busy the machine was. */
  loadAverage: { start: number; end?: number };
  /**
   * Median µs of a one-byte round trip over loopback TCP between two Node processes, at the
   * start and the end of the run (`loopbackRoundTripUs`): what one hop between the system's
   * processes costs on this machine, which varies far more between machines than CPU speed.
   */
  loopbackRoundTripUs: { start: number; end?: number };
}

/**
 * Median µs of `count` sequential one-byte round trips between this process and an echo
 * server in a child process, over 127.0.0.1: each one a socket write that wakes an idle peer,
 * and its answer another. On the VMs these figures were taken on it varied from tens of µs to
 * 300 µs, and every hop of the pipeline (HTTP, Redis, PostgreSQL, SMTP) pays it.
 */
export async function loopbackRoundTripUs(count = 2000, timeoutMs = 15_000): Promise<number> {
  const echo = `const s = require('node:net').createServer((c) => c.on('data', (d) => c.write(d)));
    s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  // A diagnostic: whatever goes wrong (the echo process dies or hangs, a socket error), the
  // figure is NaN and the run goes on to write its results.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const child = spawn(process.execPath, ['-e', echo], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.once('exit', () => stop.abort(new Error('the echo process exited')));
  child.once('error', (error) => stop.abort(error));
  const { signal } = stop;
  let socket: net.Socket | undefined;
  try {
    const [chunk] = (await once(child.stdout, 'data', { signal })) as [Buffer];
    socket = net.connect(Number(chunk.toString().trim()), '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect', { signal });
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      socket.write('x');
      await once(socket, 'data', { signal });
      times.push((performance.now() - started) * 1000);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)] ?? Number.NaN;
  } catch (error) {
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error) : (error as Error);
    console.warn(`loopback round trip not measured: ${reason.message}`);
    return Number.NaN;
  } finally {
    clearTimeout(timer);
    socket?.destroy();
    child.kill();
  }
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const [{ server_version: postgres } = { server_version: 'unknown' }] = await adminQuery<{ server_version: string }>(
    'show server_version',
  );
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres,
    redis: await redisVersion(),
    loadAverage: { start: os.loadavg()[0] ?? Number.NaN },
    loopbackRoundTripUs: { start: await loopbackRoundTripUs() },
  };
}
