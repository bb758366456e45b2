import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_EVENT_TYPES } from '../../../src/application/webhooks/event-types.js';
import { migrate } from '../../../src/infrastructure/persistence/mikro-orm.js';
import { TEST_SERVER_URL, adminQuery } from '../../support/database.js';
import { startProcess, waitFor, type Proc } from '../../support/processes.js';

// What the restart tests share: the process roles run as real child processes, an HTTP client
// that tallies answers per route and phase, a webhook receiver that checks signatures and an
// SMTP server that records Message-IDs.

export const API_KEY = 'fault-key';

export const ROLES = {
  web: { entry: 'src/main/entries/web.ts', started: null },
  worker: { entry: 'src/main/entries/worker.ts', started: 'command worker started' },
  relay: { entry: 'src/main/entries/relay.ts', started: 'relay started' },
  mailer: { entry: 'src/main/entries/mailer.ts', started: 'mailer started' },
  webhooks: { entry: 'src/main/entries/webhooks.ts', started: 'webhooks worker started' },
} as const;

export type Role = keyof typeof ROLES;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isRunning = (proc: Proc) => proc.child.exitCode === null && proc.child.signalCode === null;

/** The roles of one system, on one environment (DATABASE_URL, REDIS_URL, QUEUE_PREFIX, PORT ...). */
export class System {
  private readonly procs = new Map<Role, Proc>();

  constructor(private readonly env: Record<string, string>) {}

  get baseUrl(): string {
    return `http://${this.env.HOST ?? '127.0.0.1'}:${this.env.PORT ?? '3000'}`;
  }

  /** Starts the roles and waits until each has said it started (web: /health/live answers). */
  async start(...roles: Role[]): Promise<void> {
    for (const role of roles) {
      if (this.procs.has(role)) throw new Error(`${role} already started`);
      this.procs.set(role, startProcess(ROLES[role].entry, this.env));
    }
    await Promise.all(roles.map((role) => this.waitStarted(role)));
  }

  private async waitStarted(role: Role): Promise<void> {
    const proc = this.procs.get(role);
    if (!proc) throw new Error(`${role} not started`);
    const marker = ROLES[role].started;
    await waitFor(
      async () => {
        if (!isRunning(proc)) throw new Error(`${role} exited at start-up:\n${proc.output()}`);
        if (marker !== null) return proc.output().includes(marker);
        return fetch(`${this.baseUrl}/health/live`).then(
          (res) => res.ok,
          () => false,
        );
      },
      60_000,
      `${role} to start`,
    );
  }

  /** Roles that are no longer running (they should all survive a fault on their own). */
  exited(): string[] {
    return [...this.procs].filter(([, proc]) => !isRunning(proc)).map(([role, proc]) => `${role} (${proc.child.exitCode ?? proc.child.signalCode})`);
  }

  output(role: Role): string {
    return this.procs.get(role)?.output() ?? '';
  }

  /** How many log lines of a role contain `text`. */
  count(role: Role, text: string): number {
    return this.output(role).split('\n').filter((line) => line.includes(text)).length;
  }

  /** `{ "<err.message>": count }` of a role's JSON log lines whose msg is `msg`. */
  errors(role: Role, msg: string): Record<string, number> {
    const result: Record<string, number> = {};
    for (const line of this.output(role).split('\n')) {
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

  /** The last lines of every role's output, for a failing assertion's message. */
  tails(lines = 15): string {
    return [...this.procs]
      .map(([role, proc]) => `--- ${role}\n${proc.output().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  /** SIGTERM to every role, SIGKILL to any still running after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    // FAULT_LOG_DIR=<dir> keeps every role's output there, for a look after the run.
    const logDir = process.env.FAULT_LOG_DIR;
    if (logDir) {
      await mkdir(logDir, { recursive: true });
      for (const [role, proc] of this.procs) await writeFile(path.join(logDir, `${this.env.QUEUE_PREFIX ?? 'run'}-${role}.log`), proc.output());
    }
    const all = [...this.procs.values()].filter(isRunning);
    for (const proc of all) proc.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const proc of all) if (isRunning(proc)) proc.child.kill('SIGKILL');
    }, graceMs);
    await Promise.all(all.map((proc) => proc.exited));
    clearTimeout(timer);
    this.procs.clear();
  }
}

export interface Answer {
  route: string;
  /** HTTP status, or 0 when no answer came (connection refused, timeout). */
  status: number;
  at: number;
  body: unknown;
}

/** An API client that records every answer. */
export class Client {
  readonly answers: Answer[] = [];

  constructor(private readonly baseUrl: string) {}

  async request(method: 'GET' | 'POST', route: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    let answer: Answer;
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${API_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      answer = { route, status: res.status, at: Date.now(), body: parsed };
    } catch (error) {
      answer = { route, status: 0, at: Date.now(), body: String(error) };
    }
    this.answers.push(answer);
    return answer;
  }

  /** `{ route: { status: count } }` of the answers that `filter` keeps. */
  tally(filter: (answer: Answer) => boolean = () => true): Record<string, Record<number, number>> {
    const result: Record<string, Record<number, number>> = {};
    for (const answer of this.answers.filter(filter)) {
      const byStatus = (result[answer.route] ??= {});
      byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
    }
    return result;
  }

  /** Statuses seen, of the answers that `filter` keeps. */
  statuses(filter: (answer: Answer) => boolean = () => true): Set<number> {
    return new Set(this.answers.filter(filter).map((answer) => answer.status));
  }
}

/** An HTTP receiver for webhooks: checks each signature and records the `webhook-id`s. */
export class WebhookReceiver {
  readonly ids = new Set<string>();
  requests = 0;
  badSignatures = 0;
  private server: Server | undefined;
  private verifier: Webhook | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/hook`;
  }

  /** Subscribes this receiver to every event type through the API; keeps the secret it answers. */
  async subscribe(client: Client): Promise<string> {
    const answer = await client.request('POST', 'POST /v1/webhook-endpoints', '/v1/webhook-endpoints', {
      url: this.url,
      eventTypes: [...WEBHOOK_EVENT_TYPES],
    });
    if (answer.status !== 201) throw new Error(`webhook endpoint not created: ${answer.status} ${JSON.stringify(answer.body)}`);
    const { id, secret } = answer.body as { id: string; secret: string };
    this.verifier = new Webhook(secret);
    return id;
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests += 1;
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          if (!this.verifier) throw new Error('not subscribed');
          this.verifier.verify(body, req.headers as Record<string, string>);
          this.ids.add(String(req.headers['webhook-id']));
          res.writeHead(200).end('ok');
        } catch {
          this.badSignatures += 1;
          res.writeHead(400).end('bad signature');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A real SMTP server on a loopback port that accepts everything and records Message-IDs. */
export class SmtpSink {
  readonly messageIds = new Set<string>();
  messages = 0;
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData: (stream, _session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        this.messages += 1;
        const raw = Buffer.concat(chunks).toString('utf8');
        const messageId = /^message-id:\s*(<[^>]+>)/im.exec(raw)?.[1];
        if (messageId) this.messageIds.add(messageId);
        callback(null, `2.0.0 Ok: queued as M${this.messages}`);
      });
    },
  });

  get url(): string {
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A new database on the shared test server, migrated here rather than cloned from the
 * template: other test runs on the machine drop and rebuild the template at any moment.
 */
export async function migratedDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `conveyor_fault_${randomBytes(6).toString('hex')}`;
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  await adminQuery(`create database ${name}`);
  await migrate(url.toString());
  return { url: url.toString(), drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

export async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await pool.query<{ n: string }>(sql, params);
  return Number(rows.rows[0]?.n ?? 0);
}

/** Polls until `probe` holds; returns how long it took in ms. */
export async function within(what: string, timeoutMs: number, probe: () => Promise<boolean>, describe?: () => Promise<string> | string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `: ${await describe()}` : ''}`);
    }
    await sleep(200);
  }
}

/** Where every email and webhook row stands, for messages and figures. */
export async function deliveryState(pool: pg.Pool): Promise<Record<string, number>> {
  const rows = await pool.query<{ what: string; n: string }>(
    `select 'outbox_unpublished' as what, count(*) as n from outbox_messages where published_at is null
     union all select 'outbox', count(*) from outbox_messages
     union all select 'webhook_' || status, count(*) from webhook_deliveries group by status
     union all select 'email_' || status, count(*) from email_messages group by status`,
  );
  return Object.fromEntries(rows.rows.map((row) => [row.what, Number(row.n)]));
}
