import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import pg from 'pg';
import { startProcess, type Proc } from './processes.js';

// Helpers of the fault tests (test/faults): processes that are killed and started again,
// resident memory read from /proc, and HTTP receivers that record what reached them.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A random duration in [min, max) milliseconds. */
export const between = (min: number, max: number): number => min + Math.random() * (max - min);

/**
 * A pg pool for a test's own SQL. `pool.end()` resolves before its connections have closed, so
 * the `drop database … with (force)` of the teardown may terminate one that is still closing:
 * that late "terminating connection due to administrator command" is not a test failure.
 */
export function sqlPool(connectionString: string): pg.Pool {
  const pool = new pg.Pool({ connectionString });
  pool.on('error', (error: Error & { code?: string }) => {
    if (error.code !== '57P01') throw error;
  });
  return pool;
}

/** Resident set size of a live process in MiB (Linux /proc), or NaN when it cannot be read. */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? Number.NaN : Math.round((Number(kib) / 1024) * 10) / 10;
  } catch {
    return Number.NaN;
  }
}

/**
 * One process role (an entry point of this repository, run through tsx) that a fault test
 * SIGKILLs and starts again, one generation at a time. Keeps the tail of every generation's
 * output for the failure message.
 */
export class KillableProcess {
  private proc: Proc | undefined;
  private readonly outputs: string[] = [];
  starts = 0;
  kills = 0;

  constructor(
    readonly entry: string,
    private readonly env: Record<string, string>,
  ) {}

  get current(): Proc | undefined {
    return this.proc;
  }

  start(): Proc {
    if (this.proc) throw new Error(`${this.entry} is already running`);
    this.proc = startProcess(this.entry, this.env);
    this.starts += 1;
    return this.proc;
  }

  /** Resolves once the current generation has printed `text` (a log message). */
  async started(text: string, timeoutMs = 20_000): Promise<void> {
    const proc = this.proc;
    if (!proc) throw new Error(`${this.entry} is not running`);
    const deadline = Date.now() + timeoutMs;
    while (!proc.output().includes(text)) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${this.entry} exited before "${text}":\n${proc.output().slice(-4000)}`);
      }
      if (Date.now() > deadline) throw new Error(`${this.entry} did not print "${text}":\n${proc.output().slice(-4000)}`);
      await sleep(25);
    }
  }

  /** SIGKILLs the current generation (no shutdown code runs) and waits until it is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = undefined;
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.kills += 1;
    this.outputs.push(proc.output().slice(-2000));
  }

  /** Ends the test: SIGKILLs whatever runs, without counting it as a fault. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = undefined;
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.outputs.push(proc.output().slice(-2000));
  }

  /** The tail of each generation's output, oldest first, for a failure message. */
  output(): string {
    return [...this.outputs, this.proc?.output().slice(-2000) ?? ''].join('\n--- restart ---\n');
  }
}

/** A request as an HTTP receiver saw it. */
export interface ReceivedRequest {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export type Responder = (req: IncomingMessage, res: ServerResponse, request: ReceivedRequest) => void;

/** An HTTP receiver on 127.0.0.1 that records every request it gets, then lets `respond` answer. */
export class RecordingReceiver {
  readonly received: ReceivedRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(private readonly respond: Responder = (_req, res) => res.writeHead(204).end()) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('receiver is not listening');
    return `http://127.0.0.1:${address.port}/hook`;
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.received.push(request);
        this.respond(req, res, request);
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
