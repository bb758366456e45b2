import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Job, QueueEvents } from 'bullmq';
import type pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EMAIL_JOB_NAME, emailJobOptions } from '../../queues/emails.js';
import { createInfrastructure, type Infrastructure } from '../../src/main/infrastructure.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { startMailer } from '../../src/main/roles/mailer.js';
import { SqlEmailMessageStore } from '../../src/infrastructure/mail/email-message-store.js';
import { NodemailerMailer } from '../../src/infrastructure/mail/nodemailer-mailer.js';
import { pipeliningPoolConfig } from '../../src/infrastructure/persistence/pipelining-pool.js';
import { testConfig } from '../support/config.js';
import { closingPool } from '../support/database.js';
import { infrastructureOnFreshDatabase, queueEventsOf, settledJob } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';

// A real SMTP server on a random loopback port; what it does with a recipient depends on the
// address's local part: "grey-..." is answered 451 the first time, "nobody-..." always 550,
// "slow-..." has its message accepted after a pause; anything else is accepted at once.
interface Received {
  rcptTo: string[];
  raw: string;
}

const MAIL_FROM = 'Conveyor Shop <shop@conveyor.test>';
const received: Received[] = [];
const rcptAttempts = new Map<string, number>();
let smtp: SMTPServer;

async function startSmtpServer(): Promise<number> {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const attempt = (rcptAttempts.get(address.address) ?? 0) + 1;
      rcptAttempts.set(address.address, attempt);
      if (address.address.startsWith('nobody-')) {
        callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      } else if (address.address.startsWith('grey-') && attempt === 1) {
        callback(Object.assign(new Error('4.7.1 Greylisted, please try again later'), { responseCode: 451 }));
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const rcptTo = session.envelope.rcptTo.map((rcpt) => rcpt.address);
        const accept = () => {
          received.push({ rcptTo, raw: Buffer.concat(chunks).toString('utf8') });
          callback(null, `2.0.0 Ok: queued as Q${received.length}`);
        };
        if (rcptTo.some((to) => to.startsWith('slow-'))) setTimeout(accept, 500);
        else accept();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  return (smtp.server.address() as AddressInfo).port;
}

let infra: Infrastructure;
let mailer: RunningWorker;
let events: QueueEvents;
// The mailer process's pool pipelines (startMailerProcess): the SMTP mailer here runs on one
// too, so these tests go through the pipelined claim and outcome; the development mailer below
// runs on the infrastructure's plain pool.
let pipelined: pg.Pool;
let endPipelined: () => Promise<void>;

beforeAll(async () => {
  const port = await startSmtpServer();
  infra = await infrastructureOnFreshDatabase({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM });
  ({ pool: pipelined, end: endPipelined } = closingPool(pipeliningPoolConfig({ connectionString: infra.config.databaseUrl, max: 4 })));
  mailer = startMailer({ ...infra, pool: pipelined });
  events = await queueEvents(infra);
});

afterAll(async () => {
  await mailer.stop(5000);
  await events.close();
  await endPipelined();
  await infra.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const queueEvents = (of: Infrastructure) => queueEventsOf(of, 'emails');

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  infra.orm.em.fork().getConnection().execute<T[]>(query, params);

interface Seeded {
  emailId: string;
  eventId: string;
  orderId: string;
  messageId: string;
  to: string;
}

/** What the relay leaves behind: a user, an order.placed outbox row and a pending email row. */
async function seedOrderConfirmation(localPart: string): Promise<Seeded> {
  const userId = newId();
  const orderId = newId();
  const eventId = newId();
  const emailId = newId();
  const to = `${localPart}-${emailId.slice(-12)}@example.com`;
  const messageId = `<${emailId}@conveyor.local>`;
  await sql('insert into users (id, email, name, created_at) values (?, ?, ?, now())', [userId, to, 'Ann Example']);
  const payload = {
    orderId,
    userId,
    status: 'pending',
    items: [
      { productId: newId(), sku: 'W-1', name: 'Widget', quantity: 3, unitPrice: { amount: '2.50', currency: 'EUR' } },
      { productId: newId(), sku: 'G-2', name: 'Gadget', quantity: 1, unitPrice: { amount: '2.50', currency: 'EUR' } },
    ],
    total: { amount: '10.00', currency: 'EUR' },
  };
  await sql(
    `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at, published_at)
     values (?, 'order.placed', 'order', ?, ?::jsonb, now(), now())`,
    [eventId, orderId, JSON.stringify(payload)],
  );
  await sql(
    `insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at)
     values (?, ?, 'order_confirmation', ?, ?, 'pending', 0, now())`,
    [emailId, eventId, to, messageId],
  );
  return { emailId, eventId, orderId, messageId, to };
}

/** Enqueues as the relay does: job name 'send', data {emailId}, job id = email id. */
function enqueue(of: Infrastructure, emailId: string, jobId = emailId): Promise<Job> {
  return of.queues.emails.add(EMAIL_JOB_NAME, { emailId }, { ...emailJobOptions, jobId });
}

const settle = (of: Infrastructure, on: QueueEvents, job: Job) => settledJob(of.queues.emails, on, job, 20_000);

async function emailRow(emailId: string) {
  const [row] = await sql<{
    status: string;
    attempts: number;
    last_response: string | null;
    sent_at: string | null;
    next_attempt_at: string | null;
  }>('select status, attempts, last_response, sent_at, next_attempt_at from email_messages where id = ?', [emailId]);
  if (!row) throw new Error(`no email row ${emailId}`);
  // Timestamps come back as text on this connection.
  return {
    ...row,
    sent_at: row.sent_at === null ? null : new Date(row.sent_at),
    next_attempt_at: row.next_attempt_at === null ? null : new Date(row.next_attempt_at),
  };
}

const receivedBy = (address: string) => received.filter((mail) => mail.rcptTo.includes(address));

describe('mailer (SMTP)', () => {
  it('sends the order confirmation to the user with the row’s Message-ID and records it as sent', async () => {
    const seeded = await seedOrderConfirmation('ann');
    const { state, job } = await settle(infra, events, await enqueue(infra, seeded.emailId));
    expect(state).toBe('completed');

    const mails = receivedBy(seeded.to);
    expect(mails).toHaveLength(1);
    const mail = parseMessage(mails[0]?.raw ?? '');
    expect(mail.header('message-id')).toBe(seeded.messageId);
    expect(mail.header('to')).toBe(seeded.to);
    expect(mail.header('from')).toBe(MAIL_FROM);
    expect(mail.header('subject')).toBe(`Order ${seeded.orderId.replaceAll('-', '').slice(-8).toUpperCase()} received: 10.00 EUR`);
    expect(mail.text).toContain('Hello Ann Example,');
    expect(mail.text).toContain('3 x Widget (W-1) at 2.50 EUR: 7.50 EUR');
    expect(mail.text).toContain('Total: 10.00 EUR');
    expect(mail.html).toContain('10.00 EUR');

    const row = await emailRow(seeded.emailId);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, next_attempt_at: null });
    expect(row.last_response).toMatch(/^250 2\.0\.0 Ok: queued as Q\d+$/);
    expect(row.sent_at).toBeInstanceOf(Date);
    expect(job.returnvalue).toEqual({ status: 'sent', response: row.last_response });
  });

  it('retries after a temporary 451 and delivers on the second attempt', async () => {
    const seeded = await seedOrderConfirmation('grey');
    const { state, job } = await settle(infra, events, await enqueue(infra, seeded.emailId));
    expect(state).toBe('completed');
    expect(job.attemptsMade).toBe(2);
    expect(rcptAttempts.get(seeded.to)).toBe(2);
    const mails = receivedBy(seeded.to);
    expect(mails).toHaveLength(1);
    expect(parseMessage(mails[0]?.raw ?? '').header('message-id')).toBe(seeded.messageId);
    const row = await emailRow(seeded.emailId);
    expect(row).toMatchObject({ status: 'sent', attempts: 2, next_attempt_at: null });
    expect(row.last_response).toMatch(/^250 /);
  });

  it('records the temporary failure with its response and next attempt while the retry waits', async () => {
    const seeded = await seedOrderConfirmation('grey');
    const started = Date.now();
    const job = await enqueue(infra, seeded.emailId);
    // Wait for the first attempt to be recorded, then look before the retry (1 to 2 s later).
    let row = await emailRow(seeded.emailId);
    while (row.attempts === 0 && Date.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      row = await emailRow(seeded.emailId);
    }
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(1);
    expect(row.last_response).toBe('451 4.7.1 Greylisted, please try again later');
    // Due at the latest 2 s (the first backoff, before jitter shortens it) after the attempt.
    expect(row.next_attempt_at?.getTime()).toBeGreaterThan(started + 1000);
    expect(row.next_attempt_at?.getTime()).toBeLessThan(Date.now() + 2500);
    expect((await settle(infra, events, job)).state).toBe('completed');
  });

  it('fails a permanent 550 after one attempt without retrying', async () => {
    const seeded = await seedOrderConfirmation('nobody');
    const { state, job } = await settle(infra, events, await enqueue(infra, seeded.emailId));
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('smtp_rejected: 550 5.1.1 No such user here');
    expect(rcptAttempts.get(seeded.to)).toBe(1);
    expect(receivedBy(seeded.to)).toHaveLength(0);
    const row = await emailRow(seeded.emailId);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, last_response: '550 5.1.1 No such user here', sent_at: null });
  });

  it('sends no second email for a duplicate job of a sent row', async () => {
    const seeded = await seedOrderConfirmation('dup');
    expect((await settle(infra, events, await enqueue(infra, seeded.emailId))).state).toBe('completed');
    // A redelivery under another job id, as when a job is restored after Redis lost it.
    const again = await settle(infra, events, await enqueue(infra, seeded.emailId, `again-${seeded.emailId}`));
    expect(again.state).toBe('completed');
    expect(again.job.returnvalue).toEqual({ status: 'skipped', reason: 'sent' });
    expect(receivedBy(seeded.to)).toHaveLength(1);
    expect(await emailRow(seeded.emailId)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('sends once when two jobs for the same row run at the same time', async () => {
    const seeded = await seedOrderConfirmation('slow');
    const [first, second] = await Promise.all([
      enqueue(infra, seeded.emailId),
      enqueue(infra, seeded.emailId, `twin-${seeded.emailId}`),
    ]);
    const results = await Promise.all([settle(infra, events, first), settle(infra, events, second)]);
    expect(results.map((r) => r.state)).toEqual(['completed', 'completed']);
    expect(results.map((r) => (r.job.returnvalue as { status: string }).status).sort()).toEqual(['sent', 'skipped']);
    expect(receivedBy(seeded.to)).toHaveLength(1);
    expect(await emailRow(seeded.emailId)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('treats a job for an unknown email as a no-op', async () => {
    const emailId = newId();
    const { state, job } = await settle(infra, events, await enqueue(infra, emailId));
    expect(state).toBe('completed');
    expect(job.returnvalue).toEqual({ status: 'skipped', reason: 'missing' });
  });
});

describe('NodemailerMailer on the wire', () => {
  const smtpPort = () => (smtp.server.address() as AddressInfo).port;
  const email = (to: string, html: string) => ({
    emailId: newId(),
    to,
    subject: 'Your order',
    text: 'Thank you for your order.\n'.repeat(40),
    html,
    messageId: `<${newId()}@conveyor.local>`,
  });

  /** Socket writes (system calls, a corked batch counting once) to the SMTP server while `send` runs. */
  async function writesDuring(send: () => Promise<unknown>): Promise<number> {
    const single = vi.spyOn(net.Socket.prototype, '_write');
    const batched = vi.spyOn(net.Socket.prototype, '_writev');
    try {
      await send();
      const toServer = (socket: unknown) => socket instanceof net.Socket && socket.remotePort === smtpPort();
      return [...single.mock.contexts, ...batched.mock.contexts].filter(toServer).length;
    } finally {
      single.mockRestore();
      batched.mockRestore();
    }
  }

  it('hands a text + HTML message to the server in one write after the envelope, not one per MIME part', async () => {
    const sender = new NodemailerMailer({ smtpUrl: `smtp://127.0.0.1:${smtpPort()}`, mailFrom: MAIL_FROM, mailDir: tmpdir() });
    try {
      const html = '<p>Thank you for your order.</p>\n'.repeat(60);
      // The first send opens the pooled connection (greeting, EHLO); the next ones reuse it.
      expect(await sender.send(email(`wire-${newId().slice(-12)}@example.com`, html))).toMatchObject({ status: 'accepted' });
      const to = `wire-${newId().slice(-12)}@example.com`;
      let result: unknown;
      const writes = await writesDuring(async () => {
        result = await sender.send(email(to, html));
      });
      expect(result).toMatchObject({ status: 'accepted' });
      // The pipelined envelope (MAIL, RCPT, DATA corked together), the message, the final dot.
      expect(writes).toBeLessThanOrEqual(3);
      const [mail] = receivedBy(to);
      expect(parseMessage(mail?.raw ?? '').html).toContain('<p>Thank you for your order.</p>');
    } finally {
      await sender.close();
    }
  });

  it('delivers a message larger than what it gathers into one write intact', async () => {
    const sender = new NodemailerMailer({ smtpUrl: `smtp://127.0.0.1:${smtpPort()}`, mailFrom: MAIL_FROM, mailDir: tmpdir() });
    try {
      // ~700 KB of HTML: past the 256 KiB gathered at a time, so it leaves in several writes.
      const rows = Array.from({ length: 12_000 }, (_, i) => `<tr><td>line ${i}</td><td>${'x'.repeat(i % 17)}</td></tr>`);
      const html = `<table>\n${rows.join('\n')}\n</table>`;
      const to = `large-${newId().slice(-12)}@example.com`;
      expect(await sender.send(email(to, html))).toMatchObject({ status: 'accepted' });
      const [mail] = receivedBy(to);
      expect(parseMessage(mail?.raw ?? '').html.trim()).toBe(html);
    } finally {
      await sender.close();
    }
  });
});

describe('SqlEmailMessageStore on a pipelining pool', () => {
  const store = () => new SqlEmailMessageStore(pipelined);

  it('leaves the row pending and unlocked when its outcome cannot be written', async () => {
    const seeded = await seedOrderConfirmation('outcome');
    // An interval out of range: the outcome's UPDATE fails, its COMMIT (sent with it) rolls back.
    const failing = store().withPendingEmail(seeded.emailId, (_email, record) => record.retry('451 later', Number.POSITIVE_INFINITY, 's'));
    await expect(failing).rejects.toThrow(/out of range/);
    expect(await emailRow(seeded.emailId)).toMatchObject({ status: 'pending', attempts: 0, last_response: null });
    // The connection went back to the pool outside any transaction: the row can be claimed again.
    const again = await store().withPendingEmail(seeded.emailId, (email, record) => record.sent('250 ok', 'subject').then(() => email.id));
    expect(again).toEqual({ claimed: true, value: seeded.emailId });
    expect(await emailRow(seeded.emailId)).toMatchObject({ status: 'sent', attempts: 1, last_response: '250 ok' });
  });

  it('says why an email cannot be claimed: sent, missing, or locked by another sender', async () => {
    const seeded = await seedOrderConfirmation('claims');
    await store().withPendingEmail(seeded.emailId, (_email, record) => record.sent('250 ok', 's'));
    expect(await store().withPendingEmail(seeded.emailId, async () => 'sent twice')).toEqual({ claimed: false, reason: 'sent' });
    expect(await store().withPendingEmail(newId(), async () => 'no row')).toEqual({ claimed: false, reason: 'missing' });

    const other = await seedOrderConfirmation('claims');
    const inner = await store().withPendingEmail(other.emailId, async (_email, record) => {
      const whileHeld = await store().withPendingEmail(other.emailId, async () => 'both at once');
      await record.failed('550 no', 's');
      return whileHeld;
    });
    expect(inner).toEqual({ claimed: true, value: { claimed: false, reason: 'locked' } });
    expect(await emailRow(other.emailId)).toMatchObject({ status: 'failed', attempts: 1 });
  });
});

describe('mailer (development, no SMTP_URL)', () => {
  it('writes the message as <emailId>.eml under MAIL_DIR', async () => {
    const mailDir = path.join(await mkdtemp(path.join(tmpdir(), 'conveyor-mail-')), 'nested', 'mail');
    const dev = await createInfrastructure(testConfig(infra.config.databaseUrl, { MAIL_DIR: mailDir, MAIL_FROM }), 'test-dev');
    const devMailer = startMailer(dev);
    const devEvents = await queueEvents(dev);
    try {
      expect(dev.config.smtpUrl).toBeUndefined();
      const seeded = await seedOrderConfirmation('dev');
      const { state } = await settle(dev, devEvents, await enqueue(dev, seeded.emailId));
      expect(state).toBe('completed');

      expect(await readdir(mailDir)).toEqual([`${seeded.emailId}.eml`]);
      const mail = parseMessage(await readFile(path.join(mailDir, `${seeded.emailId}.eml`), 'utf8'));
      expect(mail.header('message-id')).toBe(seeded.messageId);
      expect(mail.header('to')).toBe(seeded.to);
      expect(mail.text).toContain('Total: 10.00 EUR');
      const row = await emailRow(seeded.emailId);
      expect(row).toMatchObject({ status: 'sent', attempts: 1 });
      expect(row.last_response).toBe(`captured to ${path.join(mailDir, `${seeded.emailId}.eml`)}`);
      expect(receivedBy(seeded.to)).toHaveLength(0);
    } finally {
      await devMailer.stop(5000);
      await devEvents.close();
      await dev.close();
      await rm(path.dirname(path.dirname(mailDir)), { recursive: true, force: true });
    }
  });
});

// Just enough MIME to read what nodemailer sends: unfolded headers, and the text and HTML
// parts of a multipart/alternative body (7bit, quoted-printable or base64).
interface ParsedMessage {
  header(name: string): string | undefined;
  text: string;
  html: string;
}

function parseMessage(raw: string): ParsedMessage {
  const top = splitPart(raw);
  const boundary = /boundary="?([^";]+)"?/i.exec(top.headers.get('content-type') ?? '')?.[1];
  const parts = boundary
    ? top.body
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((part) => splitPart(part.replace(/^\r?\n/, '')))
    : [top];
  const bodyOf = (type: string) => {
    const part = parts.find((p) => (p.headers.get('content-type') ?? 'text/plain').startsWith(type));
    return part ? decodeBody(part.body, part.headers.get('content-transfer-encoding')) : '';
  };
  return { header: (name) => top.headers.get(name.toLowerCase()), text: bodyOf('text/plain'), html: bodyOf('text/html') };
}

function splitPart(raw: string): { headers: Map<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
  const head = raw.slice(0, end).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(end).replace(/^\r?\n\r?\n/, '') };
}

function decodeBody(body: string, encoding: string | undefined): string {
  const text = body.replace(/\r?\n$/, '');
  switch (encoding?.toLowerCase()) {
    case 'quoted-printable': {
      const bytes = text
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8').replace(/\r\n/g, '\n');
    }
    case 'base64':
      return Buffer.from(text, 'base64').toString('utf8').replace(/\r\n/g, '\n');
    default:
      return text.replace(/\r\n/g, '\n');
  }
}
