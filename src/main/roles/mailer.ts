import type pg from 'pg';
import { ListEmails } from '../../application/email/list-emails.js';
import type { EmailManagement } from '../../application/email/management.js';
import type { Mailer } from '../../application/email/ports.js';
import { ResendEmail } from '../../application/email/resend-email.js';
import { SendEmail } from '../../application/email/send-email.js';
import { BullMqEmailQueue } from '../../infrastructure/mail/bullmq-email-queue.js';
import { SqlEmailMessageStore } from '../../infrastructure/mail/email-message-store.js';
import { PgEmailLog } from '../../infrastructure/mail/pg-email-log.js';
import { NodemailerMailer } from '../../infrastructure/mail/nodemailer-mailer.js';
import { QUEUES } from '../../../queues/names.js';
import { createEmailProcessor } from '../../../workers/email-processor.js';
import type { Config } from '../../infrastructure/config.js';
import { checkMigrated, openPool, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';
import { startQueueWorker, type QueueWorkerDeps, type RunningWorker } from './queue-worker.js';

export interface MailerOverrides {
  /** Replaces the nodemailer transport built from the config (tests). */
  mailer?: Mailer;
}

/**
 * The `mailer` role: sends the email_messages rows the relay enqueues on `emails`. With
 * SMTP_URL unset (development) mail is captured as .eml files under MAIL_DIR.
 */
export type MailerDeps = QueueWorkerDeps & Pick<Infrastructure, 'pool'>;

/**
 * Sends one email_messages row, as the mailer and the relay's first attempt (ADR 0024) do, with
 * the transport built from the config (closed by `close`) or the one given.
 */
export function buildSendEmail(infra: Pick<Infrastructure, 'config' | 'pool'>, overrides: MailerOverrides = {}): { sendEmail: SendEmail; close: () => Promise<void> } {
  const { config } = infra;
  const mailer =
    overrides.mailer ?? new NodemailerMailer({ smtpUrl: config.smtpUrl, mailFrom: config.mailFrom, mailDir: config.mailDir });
  return { sendEmail: new SendEmail(new SqlEmailMessageStore(infra.pool), mailer), close: () => mailer.close() };
}

export function startMailer(infra: MailerDeps, overrides: MailerOverrides = {}): RunningWorker {
  const { config, logger } = infra;
  const { sendEmail, close } = buildSendEmail(infra, overrides);
  const processor = createEmailProcessor(sendEmail, logger, infra.metrics);
  const running = startQueueWorker(infra, QUEUES.emails, { processor, close });
  logger.info(
    {
      concurrency: config.workerConcurrency,
      prefix: config.queuePrefix,
      transport: config.smtpUrl ? 'smtp' : `files under ${config.mailDir}`,
    },
    'mailer started',
  );
  return running;
}

/**
 * The email use cases for the HTTP routes (docs/design.md §3): the listing reads `readPool`
 * (the query side's, a replica when DATABASE_READ_URL is set); a resend writes the primary.
 */
export function createEmailManagement(
  infra: Pick<Infrastructure, 'pool'> & { readPool: pg.Pool; queues: Pick<Infrastructure['queues'], 'emails'> },
): EmailManagement {
  return {
    listEmails: new ListEmails(new PgEmailLog(infra.readPool)),
    resendEmail: new ResendEmail(new SqlEmailMessageStore(infra.pool), new BullMqEmailQueue(infra.queues.emails)),
  };
}

/**
 * The `mailer` process: a plain pg pool (the email store is plain SQL) and a blocking Redis
 * connection. No ORM pool: the migration check borrows one connection and gives it back. The
 * pool pipelines: the email store sends BEGIN with its claim and its outcome with COMMIT.
 */
export function startMailerProcess(config: Config): Promise<RunningProcess> {
  return startRoleProcess(config, 'mailer', async ({ observability, resources, redis }) => {
    await checkMigrated(config);
    const pool = openPool(config, observability.logger, resources, { role: 'mailer', pipeline: true });
    return startMailer({ ...observability, pool, workerConnection: redis('worker') });
  });
}
