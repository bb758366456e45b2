// Real receivers for end-to-end tests: an SMTP server that keeps every message it accepts and
// an HTTP server that records every request and answers as the test says.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';

/** One message accepted by the capture server. */
export interface CapturedMail {
  mailFrom: string;
  rcptTo: string[];
  raw: string;
  /** Header names in lower case, folded lines unfolded; the first occurrence of each. */
  headers: Map<string, string>;
  body: string;
}

/** Splits a raw RFC 5322 message into its headers (unfolded) and body. */
export function parseMail(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  // A line that starts with white space continues the header above it (RFC 5322 §2.2.3).
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

export interface SmtpCapture {
  port: number;
  url: string;
  messages: CapturedMail[];
  /** The messages addressed (envelope) to `address`. */
  to(address: string): CapturedMail[];
  /** How many times each recipient was given in RCPT TO, accepted or not. */
  rcptAttempts: Map<string, number>;
  close(): Promise<void>;
}

/**
 * An SMTP server on a free loopback port that accepts every message and keeps it — except the
 * first RCPT TO of a recipient `greylist` picks, answered 451 as a greylisting server does.
 */
export async function startSmtpCapture(options: { greylist?: (address: string) => boolean } = {}): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  const rcptAttempts = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const attempt = (rcptAttempts.get(address.address) ?? 0) + 1;
      rcptAttempts.set(address.address, attempt);
      if (attempt === 1 && options.greylist?.(address.address)) {
        callback(Object.assign(new Error('4.7.1 Greylisted, please try again later'), { responseCode: 451 }));
      } else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const mailFrom = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        messages.push({ mailFrom, rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address), raw, ...parseMail(raw) });
        callback(null, `2.0.0 Ok: queued as E2E${messages.length}`);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    to: (address) => messages.filter((mail) => mail.rcptTo.includes(address)),
    rcptAttempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One request the HTTP receiver got. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

/** Whether a receiver that knows only `secret` accepts the request (Standard Webhooks reference library). */
export function verifies(secret: string, request: ReceivedRequest): boolean {
  try {
    new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

/**
 * How the receiver answers a request: a status (and body), never ('hang'), or as the answer
 * function did itself on the raw response ('answered': slow bodies, redirects, floods …).
 */
export type Answer = { status: number; body?: string } | 'hang' | 'answered';

/** The raw request and response, for an answer function that answers by itself. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/**
 * An HTTP receiver on 127.0.0.1 that records every request and answers with `answer(request,
 * index, exchange)` (index counts the requests, from 0). It can stop listening (connections are
 * refused) and listen again on the same port.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  answer: (request: ReceivedRequest, index: number, exchange: Exchange) => Answer = () => ({ status: 204 });
  private readonly hanging = new Set<ServerResponse>();
  private readonly server: Server;

  private constructor(public port: number) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          receivedAt: Date.now(),
        };
        const index = this.requests.push(request) - 1;
        const answer = this.answer(request, index, { req, res });
        if (answer === 'answered') return;
        if (answer === 'hang') {
          this.hanging.add(res);
          res.on('close', () => this.hanging.delete(res));
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '');
      });
    });
  }

  static async start(answer?: HttpReceiver['answer'], port = 0): Promise<HttpReceiver> {
    const receiver = new HttpReceiver(port);
    if (answer) receiver.answer = answer;
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  /** Listens (again) on the receiver's port. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /**
   * Stops accepting connections at once (a connect is refused from now on). Requests in
   * progress, hanging ones included, are left alone; idle keep-alive connections are closed.
   */
  stopListening(): void {
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Closes every connection, hanging requests included, and stops listening. */
  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
