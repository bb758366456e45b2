import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTransport, type SendMailOptions, type Transporter } from 'nodemailer';
import type { Mailer, OutgoingEmail, SendResult } from '../../application/email/ports.js';
import { classifySendError } from './smtp-errors.js';
import { sendWholeMessages } from './whole-message.js';

export interface NodemailerMailerOptions {
  /** `smtp://user:pass@host:587` or `smtps://...`; unset in development: messages go to `mailDir`. */
  smtpUrl: string | undefined;
  /** From header of every message, e.g. `conveyor <no-reply@example.com>`. */
  mailFrom: string;
  /** Where development mail is captured, one `<emailId>.eml` file per message. */
  mailDir: string;
  /** Open SMTP connections at most (the pool queues the rest); 5 by default, as most relays allow. */
  maxConnections?: number;
  /** Time to open the TCP (and TLS) connection; 10 s by default. */
  connectionTimeoutMs?: number;
  /** Time to wait for the server's greeting; 10 s by default. */
  greetingTimeoutMs?: number;
  /** Inactivity allowed on an open connection before it counts as lost; 30 s by default. */
  socketTimeoutMs?: number;
  /**
   * Deadline of one whole send; 60 s by default. The socket timeout misses a server that
   * trickles its replies; past this the attempt counts as failed (temporary, ETIMEDOUT).
   */
  sendTimeoutMs?: number;
}

/**
 * The Mailer on nodemailer. With an SMTP URL, a pooled SMTP transport: connections are reused
 * across messages and timeouts bound every step, so a stuck server fails an attempt (and the
 * job retries) rather than holding a worker. Without one (development), each message is
 * composed exactly as it would be sent and written to `<mailDir>/<emailId>.eml`.
 */
export class NodemailerMailer implements Mailer {
  private readonly transport: Transporter;
  private readonly capture: boolean;
  private mailDirReady: Promise<unknown> | undefined;

  constructor(private readonly options: NodemailerMailerOptions) {
    if (options.smtpUrl) {
      this.capture = false;
      this.transport = createTransport({
        url: options.smtpUrl,
        pool: true,
        maxConnections: options.maxConnections ?? 5,
        maxMessages: 100,
        connectionTimeout: options.connectionTimeoutMs ?? 10_000,
        greetingTimeout: options.greetingTimeoutMs ?? 10_000,
        socketTimeout: options.socketTimeoutMs ?? 30_000,
        dnsTimeout: 10_000,
        // A message whose connection broke mid-send is not put back on the pool's queue:
        // the job's retry (with backoff, recorded on the row) is the one retry mechanism.
        maxRequeues: 0,
      });
      // One socket write per message rather than one per MIME part (ADR 0019).
      sendWholeMessages(this.transport);
    } else {
      this.capture = true;
      this.transport = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
    }
  }

  /** Whether messages are written to files rather than sent. */
  get capturesToFiles(): boolean {
    return this.capture;
  }

  async send(email: OutgoingEmail): Promise<SendResult> {
    try {
      return { status: 'accepted', response: await this.deliver(email) };
    } catch (error) {
      // Whatever went wrong, SMTP reply or not, is told apart here: the caller only learns
      // whether a later attempt can help.
      const failure = classifySendError(error);
      return { status: failure.kind === 'permanent' ? 'rejected' : 'temporary', response: failure.response };
    }
  }

  /** Sends or captures the message; resolves to the server's answer, rejects when it was not accepted. */
  private async deliver(email: OutgoingEmail): Promise<string> {
    const message: SendMailOptions = {
      from: this.options.mailFrom,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: email.messageId,
    };
    if (!this.capture) {
      const info = (await this.withDeadline(this.transport.sendMail(message))) as { response?: unknown };
      return typeof info.response === 'string' ? info.response : 'accepted';
    }
    const file = this.captureFile(email.emailId);
    const info = (await this.transport.sendMail(message)) as { message?: unknown };
    if (!Buffer.isBuffer(info.message)) throw new Error('stream transport returned no message buffer');
    this.mailDirReady ??= mkdir(this.options.mailDir, { recursive: true });
    await this.mailDirReady;
    // Write then rename: a reader (or a crash) never sees half a message.
    const partial = `${file}.${process.pid}.partial`;
    await writeFile(partial, info.message);
    await rename(partial, file);
    return `captured to ${file}`;
  }

  async close(): Promise<void> {
    this.transport.close();
  }

  private async withDeadline<T>(sending: Promise<T>): Promise<T> {
    const ms = this.options.sendTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(Object.assign(new Error(`no answer from the SMTP server within ${ms} ms`), { code: 'ETIMEDOUT' }));
      }, ms);
    });
    try {
      return await Promise.race([sending, deadline]);
    } finally {
      clearTimeout(timer);
      // A send that loses the race may still settle later; its outcome is no longer wanted.
      sending.catch(() => undefined);
    }
  }

  private captureFile(emailId: string): string {
    // The id names a file: refuse anything that could step out of the directory.
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(emailId)) throw new Error(`email id ${JSON.stringify(emailId)} cannot name a file`);
    return path.join(this.options.mailDir, `${emailId}.eml`);
  }
}
