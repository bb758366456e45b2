// Real conveyor processes for the end-to-end and fault tests: each Procfile role started as its
// own child process (through tsx), on one test database and queue prefix.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { createRedisConnection, type RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { E2E_API_KEY } from './api-client.js';
import { REDIS_URL, TEST_RATE_LIMIT_PER_MINUTE } from './config.js';
import { createTestDatabase } from './database.js';
import { freePort } from './net.js';
import { uniquePrefix } from './redis-keys.js';
import { READY_MESSAGE, ROLE_ENTRIES, type Role, type WorkerRole } from './roles.js';
import { sleep, waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** How long a role may take to start: below the 60 s hook timeout, so the failure says why. */
const START_TIMEOUT_MS = 45_000;

const isRunning = (proc: Proc): boolean => proc.child.exitCode === null && proc.child.signalCode === null;

/** Starts a role's entry point as a real process (through tsx). */
export function startProcess(role: Role, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', ROLE_ENTRIES[role]], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return { child, output: () => output, exited };
}

/** Ends a process: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited. */
export async function stopProcess(proc: Proc, graceMs = 5_000): Promise<number | string> {
  if (!isRunning(proc)) return proc.exited;
  proc.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      proc.child.kill('SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([proc.exited, killed]);
  clearTimeout(timer);
  return proc.exited;
}

/**
 * The environment every process of one test file shares: its database, a fresh queue prefix,
 * an API key and the admin login. Roles add their own (PORT, SMTP_URL, ...).
 */
export function stackEnv(databaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: uniquePrefix('e2e'),
    HOST: '127.0.0.1',
    API_KEYS: E2E_API_KEY,
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'e2e-admin-password',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    ...overrides,
  };
}

interface Member {
  name: string;
  proc: Proc;
}

/**
 * The processes one test file started. `output()` is what to print when an assertion fails;
 * `stopAll()` (in afterAll) ends every one of them, whatever happened. `env` is given to
 * every process the group starts (a start adds its own on top).
 */
export class ProcessGroup {
  private readonly members: Member[] = [];
  private exitHookInstalled = false;
  /** The base URL of the web process `startWeb` started last. */
  baseUrl = '';

  constructor(private readonly env: Record<string, string> = {}) {}

  /** Starts `role` as a child process named `name` (unique in the group; defaults to the role). */
  start(role: Role, env: Record<string, string> = {}, name: string = role): Proc {
    if (this.members.some((member) => member.name === name)) throw new Error(`a process named ${name} is already started`);
    const proc = startProcess(role, { ...this.env, ...env });
    this.members.push({ name, proc });
    if (!this.exitHookInstalled) {
      // Should the test runner exit without afterAll (a crash, a timeout), leave no orphans.
      this.exitHookInstalled = true;
      process.once('exit', () => {
        for (const member of this.members) if (isRunning(member.proc)) member.proc.child.kill('SIGKILL');
      });
    }
    return proc;
  }

  /**
   * Starts the web role on PORT (of `env` or the group's env, else a free port) and waits
   * until /health/ready answers 200.
   * Its LOG_LEVEL defaults to warn (unless the group's env sets one): request logs of the polling would drown everything else.
   */
  async startWeb(env: Record<string, string> = {}, name = 'web'): Promise<{ proc: Proc; baseUrl: string }> {
    const port = env.PORT ?? this.env.PORT ?? String(await freePort());
    const proc = this.start('web', { LOG_LEVEL: this.env.LOG_LEVEL ?? 'warn', ...env, PORT: port }, name);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        this.throwIfExited(proc, name);
        try {
          return (await fetch(`${baseUrl}/health/ready`)).status === 200;
        } catch {
          return false;
        }
      },
      START_TIMEOUT_MS,
      () => `${name} to answer /health/ready\n${this.output()}`,
    );
    this.baseUrl = baseUrl;
    return { proc, baseUrl };
  }

  /** Starts a worker role and waits for its start-up log line (needs LOG_LEVEL info or lower). */
  async startWorker(role: WorkerRole, env: Record<string, string> = {}, name: string = role): Promise<Proc> {
    const proc = this.start(role, env, name);
    await waitFor(
      async () => {
        this.throwIfExited(proc, name);
        return proc.output().includes(READY_MESSAGE[role]);
      },
      START_TIMEOUT_MS,
      () => `${name} to start\n${this.output()}`,
    );
    return proc;
  }

  /** Starts several roles, each under its own name, and waits until every one is up. */
  async startRoles(...roles: Role[]): Promise<void> {
    await Promise.all(roles.map((role) => (role === 'web' ? this.startWeb() : this.startWorker(role))));
  }

  /** The process named `name`, if the group started one. */
  get(name: string): Proc | undefined {
    return this.members.find((member) => member.name === name)?.proc;
  }

  /** Ends the process named `name` (SIGTERM, then SIGKILL after `graceMs`); its output stays readable. */
  async stop(name: string, graceMs = 5_000): Promise<number | string> {
    const member = this.members.find((candidate) => candidate.name === name);
    if (!member) throw new Error(`no process named ${name}`);
    return stopProcess(member.proc, graceMs);
  }

  /** The whole output of the process named `name` ('' when there is none). */
  outputOf(name: string): string {
    return this.members.find((member) => member.name === name)?.proc.output() ?? '';
  }

  /** How many output lines of the process named `name` contain `text`. */
  count(name: string, text: string): number {
    return this.outputOf(name).split('\n').filter((line) => line.includes(text)).length;
  }

  /** `{ "<err.message>": count }` of the JSON log lines of process `name` whose msg is `msg`. */
  errors(name: string, msg: string): Record<string, number> {
    const result: Record<string, number> = {};
    for (const line of this.outputOf(name).split('\n')) {
      if (!line.startsWith('{') || !line.includes(msg)) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        if (entry.msg !== msg) continue;
        const message = entry.err?.message ?? '(no error)';
        result[message] = (result[message] ?? 0) + 1;
      } catch {
        // not a log line
      }
    }
    return result;
  }

  /** The processes that are no longer running, with their exit code or signal. */
  exited(): string[] {
    return this.members.filter(({ proc }) => !isRunning(proc)).map(({ name, proc }) => `${name} (${proc.child.exitCode ?? proc.child.signalCode})`);
  }

  /** Every process's output (the last `tailChars` of each), labelled, for assertion messages. */
  output(tailChars = 6_000): string {
    return this.members
      .map(({ name, proc }) => {
        const text = proc.output();
        const state = proc.child.exitCode ?? proc.child.signalCode ?? 'running';
        const tail = text.length > tailChars ? `…${text.slice(-tailChars)}` : text;
        return `----- ${name} (${state}) -----\n${tail}`;
      })
      .join('\n');
  }

  /**
   * SIGTERM to every process still running, SIGKILL to those not gone after `graceMs`.
   * FAULT_LOG_DIR=<dir> keeps every process's whole output there, for a look after the run.
   */
  async stopAll(graceMs = 5_000): Promise<void> {
    const logDir = process.env.FAULT_LOG_DIR;
    if (logDir) {
      await mkdir(logDir, { recursive: true });
      for (const { name, proc } of this.members) {
        await writeFile(path.join(logDir, `${this.env.QUEUE_PREFIX ?? 'run'}-${name}.log`), proc.output());
      }
    }
    await Promise.all(this.members.map(({ proc }) => stopProcess(proc, graceMs)));
  }

  private throwIfExited(proc: Proc, name: string): void {
    if (!isRunning(proc)) throw new Error(`${name} exited during start-up\n${this.output()}`);
  }
}

/** What `systemOnFreshDatabase` gives a test file. */
export interface SystemFixture {
  /** The file's processes: all stopped after the tests, before anything below is closed. */
  readonly processes: ProcessGroup;
  /** The URL of the file's database (set before all tests). */
  url: string;
  /**
   * A client on it. A client rather than a pool: end() resolves once the connection is closed,
   * so dropping the database afterwards cannot kill it under our feet.
   */
  db: pg.Client;
  /** A connection of its own to `env`'s Redis and the commands queue under its QUEUE_PREFIX; both closed after the processes. */
  commandsQueue(env: Record<string, string>, role?: 'producer' | 'worker'): { connection: RedisConnection; commands: Queue };
}

/**
 * For a whole test file of real processes: a fresh database with a client on it before all
 * tests (call it before the file's own beforeAll, which runs after this one); after all tests,
 * every process the group started is stopped, then the queues are closed, the client ended and
 * the database dropped.
 */
export function systemOnFreshDatabase(): SystemFixture {
  let drop: (() => Promise<void>) | undefined;
  const queues: { queue: Queue; connection: RedisConnection }[] = [];
  const fixture: SystemFixture = {
    processes: new ProcessGroup(),
    url: '',
    db: undefined as unknown as pg.Client,
    commandsQueue(env, role = 'producer') {
      const connection = createRedisConnection({ url: env.REDIS_URL ?? REDIS_URL, role });
      const commands = createQueue('commands', { connection, prefix: env.QUEUE_PREFIX ?? '' });
      queues.push({ queue: commands, connection });
      return { connection, commands };
    },
  };
  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    fixture.url = database.url;
    fixture.db = new pg.Client({ connectionString: database.url });
    await fixture.db.connect();
  });
  // Each step runs however the one before it went: the database is dropped in the end.
  afterAll(async () => {
    try {
      await fixture.processes.stopAll();
    } finally {
      try {
        for (const { queue, connection } of queues) {
          await queue.close();
          await connection.quit();
        }
        await fixture.db?.end();
      } finally {
        await drop?.();
      }
    }
  });
  return fixture;
}

/**
 * One role that a fault test SIGKILLs and starts again, one generation at a time. Keeps the
 * tail of every generation's output for the failure message.
 */
export class KillableProcess {
  private proc: Proc | undefined;
  private readonly outputs: string[] = [];
  starts = 0;
  kills = 0;

  constructor(
    readonly role: WorkerRole,
    private readonly env: Record<string, string>,
  ) {}

  get current(): Proc | undefined {
    return this.proc;
  }

  start(): Proc {
    if (this.proc) throw new Error(`${this.role} is already running`);
    this.proc = startProcess(this.role, this.env);
    this.starts += 1;
    return this.proc;
  }

  /** Resolves once the current generation has logged that it started. */
  async started(timeoutMs = 20_000): Promise<void> {
    const proc = this.proc;
    if (!proc) throw new Error(`${this.role} is not running`);
    const text = READY_MESSAGE[this.role];
    const deadline = Date.now() + timeoutMs;
    while (!proc.output().includes(text)) {
      if (!isRunning(proc)) throw new Error(`${this.role} exited before "${text}":\n${proc.output().slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${this.role} did not print "${text}":\n${proc.output().slice(-4000)}`);
      await sleep(25);
    }
  }

  /** SIGKILLs the current generation (no shutdown code runs) and waits until it is gone. */
  async kill(): Promise<void> {
    if (await this.end()) this.kills += 1;
  }

  /** Ends the test: SIGKILLs whatever runs, without counting it as a fault. */
  async stop(): Promise<void> {
    await this.end();
  }

  /** The tail of each generation's output, oldest first, for a failure message. */
  output(): string {
    return [...this.outputs, this.proc?.output().slice(-2000) ?? ''].join('\n--- restart ---\n');
  }

  private async end(): Promise<boolean> {
    const proc = this.proc;
    if (!proc) return false;
    this.proc = undefined;
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.outputs.push(proc.output().slice(-2000));
    return true;
  }
}
