import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';


// A redis-server of a test's own, on a free loopback port with a temporary --dir, run as a
// child process (never daemonized) so a test can stop it and start it again on the same port
// and dir: the machine's shared Redis is never touched.

export interface PrivateRedisOptions {
  /** `--appendonly yes|no`; with no, a restart loses every key (RDB snapshots are off too). */
  appendonly: boolean;
  /** `--appendfsync`; `always` makes every acknowledged write durable. Default `always`. */
  appendfsync?: 'always' | 'everysec' | 'no';
}

export type StopMode = 'shutdown' | 'SIGTERM' | 'SIGKILL';

export interface PrivateRedis {
  port: number;
  url: string;
  dir: string;
  /** Whether a server process is running now. */
  readonly running: boolean;
  /** Everything the server processes wrote (all runs). */
  output(): string;
  /** Starts the server on the same port and dir, and waits until it answers PING with PONG. */
  start(): Promise<void>;
  /**
   * Stops the server and waits for its exit: `shutdown` sends SHUTDOWN NOSAVE (the AOF is still
   * flushed), SIGTERM is what an orchestrator sends, SIGKILL a crash.
   */
  stop(mode?: StopMode): Promise<void>;
  /** A command on a fresh connection, reply as Redis wrote it (e.g. `:3` for DBSIZE). */
  command(...args: string[]): Promise<string>;
  /** Stops the server if it runs and removes the dir. */
  cleanup(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */

/** Sends one command in RESP and resolves with the first reply line (`+PONG`, `-LOADING ...`, `:3`). */
export function redisCommand(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0] ?? ''} on port ${port} timed out`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`);
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(reply.slice(0, end));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // SHUTDOWN answers nothing: the server closes the connection.
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'conveyor-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', options.appendonly ? 'yes' : 'no',
    '--appendfsync', options.appendfsync ?? 'always',
    '--save', '',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    '--protected-mode', 'no',
    '--loglevel', 'notice',
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let output = '';

  const redis: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined;
    },
    output: () => output,

    async start() {
      if (child) throw new Error(`redis on port ${port} is already running`);
      const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child = started;
      exited = once(started, 'exit').then(() => {
        if (child === started) child = undefined;
      });
      const deadline = Date.now() + 15_000;
      for (;;) {
        // PING answers -LOADING while the AOF is replayed: wait for PONG.
        const reply = await redisCommand(port, ['PING']).catch((error: unknown) => String(error));
        if (reply === '+PONG') return;
        if (!child) throw new Error(`redis-server exited at start-up:\n${output}`);
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} not ready: ${reply}\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },

    async stop(mode: StopMode = 'SIGTERM') {
      const running = child;
      if (!running) return;
      if (mode === 'shutdown') {
        await redisCommand(port, ['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
      } else {
        running.kill(mode);
      }
      await exited;
    },

    command: (...command: string[]) => redisCommand(port, command),

    async cleanup() {
      await redis.stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
