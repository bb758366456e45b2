// Real conveyor processes for end-to-end tests: each Procfile role started as its own child
// process (through tsx), on one test database and queue prefix, talked to over HTTP.
import { REDIS_URL, uniquePrefix } from './config.js';
import { freePort } from './net.js';
import { startProcess, waitFor, type Proc } from './processes.js';

/** The Procfile process types and their entry points. */
export const ROLE_ENTRIES = {
  web: 'src/main/entries/web.ts',
  worker: 'src/main/entries/worker.ts',
  relay: 'src/main/entries/relay.ts',
  mailer: 'src/main/entries/mailer.ts',
  webhooks: 'src/main/entries/webhooks.ts',
} as const;

export type Role = keyof typeof ROLE_ENTRIES;

/** The info line each worker role logs once it is built (its BullMQ worker or relay started). */
const READY_MESSAGE: Record<Exclude<Role, 'web'>, string> = {
  worker: '"msg":"command worker started"',
  relay: '"msg":"relay started"',
  mailer: '"msg":"mailer started"',
  webhooks: '"msg":"webhooks worker started"',
};

export const E2E_API_KEY = 'e2e-key';

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
    ...overrides,
  };
}

interface Member {
  name: string;
  proc: Proc;
}

/**
 * The processes one test file started. `output()` is what to print when an assertion fails;
 * `stopAll()` (in afterAll) ends every one of them, whatever happened.
 */
export class ProcessGroup {
  private readonly members: Member[] = [];
  private exitHookInstalled = false;

  /** Starts `role` as a child process named `name` (unique in the group; defaults to the role). */
  start(role: Role, env: Record<string, string>, name: string = role): Proc {
    if (this.members.some((member) => member.name === name)) throw new Error(`a process named ${name} is already started`);
    const proc = startProcess(ROLE_ENTRIES[role], env);
    this.members.push({ name, proc });
    if (!this.exitHookInstalled) {
      // Should the test runner exit without afterAll (a crash, a timeout), leave no orphans.
      this.exitHookInstalled = true;
      process.once('exit', () => {
        for (const member of this.members) if (member.proc.child.exitCode === null) member.proc.child.kill('SIGKILL');
      });
    }
    return proc;
  }

  /**
   * Starts the web role on a free port and waits until /health/ready answers 200.
   * Its LOG_LEVEL defaults to warn: request logs of the polling would drown everything else.
   */
  async startWeb(env: Record<string, string>, name = 'web'): Promise<{ proc: Proc; baseUrl: string }> {
    const port = await freePort();
    const proc = this.start('web', { LOG_LEVEL: 'warn', ...env, PORT: String(port) }, name);
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
      30_000,
      `${name} to answer /health/ready\n${this.output()}`,
    );
    return { proc, baseUrl };
  }

  /** Starts a worker role and waits for its start-up log line (needs LOG_LEVEL info or lower). */
  async startWorker(role: Exclude<Role, 'web'>, env: Record<string, string>, name: string = role): Promise<Proc> {
    const proc = this.start(role, env, name);
    await waitFor(
      async () => {
        this.throwIfExited(proc, name);
        return proc.output().includes(READY_MESSAGE[role]);
      },
      30_000,
      `${name} to start\n${this.output()}`,
    );
    return proc;
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

  /** SIGTERM to every process still running, SIGKILL to those not gone after `graceMs`. */
  async stopAll(graceMs = 5_000): Promise<void> {
    await Promise.all(this.members.map(({ proc }) => stopProcess(proc, graceMs)));
  }

  private throwIfExited(proc: Proc, name: string): void {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${name} exited during start-up\n${this.output()}`);
    }
  }
}

/** Ends a process: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited. */
export async function stopProcess(proc: Proc, graceMs = 5_000): Promise<number | string> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
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
 * A parsed response body. `any` because the tests check these bodies with assertions, field
 * by field; declaring a type for every answer would only restate the expectations.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** An answer of the API: status, headers and the parsed JSON body (text when not JSON). */
export interface ApiResponse<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

/** A tiny client of the intake API with a bearer key. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string = E2E_API_KEY,
  ) {}

  get<T = Json>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T = Json>(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body, headers);
  }

  delete<T = Json>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return { status: response.status, headers: response.headers, body: (type.includes('json') && text ? JSON.parse(text) : text) as T };
  }

  /** Polls GET /v1/commands/:id until the command has succeeded or failed; returns its status. */
  async settled(commandId: string, timeoutMs = 20_000): Promise<CommandStatus> {
    return waitFor(
      async () => {
        const response = await this.get<CommandStatus>(`/v1/commands/${commandId}`);
        return response.status === 200 && (response.body.status === 'succeeded' || response.body.status === 'failed')
          ? response.body
          : undefined;
      },
      timeoutMs,
      `command ${commandId} to settle`,
    );
  }
}

/** GET /v1/commands/:commandId (DESIGN.md §3). */
export interface CommandStatus {
  commandId: string;
  type: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string };
}

/** The 202 answer of a command route. */
export interface Accepted {
  commandId: string;
  statusUrl: string;
  userId?: string;
  productId?: string;
  orderId?: string;
}
