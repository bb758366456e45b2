import { Worker } from 'bullmq';
import { SqlEmailMessageStore } from '../../infrastructure/mail/email-message-store.js';
import type { Mailer } from '../../infrastructure/mail/mailer.js';
import { NodemailerMailer } from '../../infrastructure/mail/nodemailer-mailer.js';
import { QUEUES } from '../../../queues/names.js';
import { createEmailProcessor } from '../../../workers/email-processor.js';
import type { Infrastructure } from '../infrastructure.js';
import { stopWorker, type RunningWorker } from './command-worker.js';

export interface MailerOverrides {
  /** Replaces the nodemailer transport built from the config (tests). */
  mailer?: Mailer;
}

/**
 * The `mailer` role: sends the email_messages rows the relay enqueues on `emails`. With
 * SMTP_URL unset (development) mail is captured as .eml files under MAIL_DIR.
 */
export function startMailer(infra: Infrastructure, overrides: MailerOverrides = {}): RunningWorker {
  const { config, logger } = infra;
  const mailer =
    overrides.mailer ?? new NodemailerMailer({ smtpUrl: config.smtpUrl, mailFrom: config.mailFrom, mailDir: config.mailDir });
  const processor = createEmailProcessor({ store: new SqlEmailMessageStore(infra.pool), mailer, logger, metrics: infra.metrics });
  const worker = new Worker(QUEUES.emails, processor, {
    connection: infra.workerConnection,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    lockDuration: config.workerLockMs,
    stalledInterval: config.workerLockMs,
    maxStalledCount: 5,
    telemetry: infra.tracing?.bullmq,
  });
  infra.metrics.observeWorker(worker);
  worker.on('error', (error) => logger.error({ err: error }, 'mailer worker error'));
  worker.on('failed', (job, error) => {
    // The processor logs each outcome; this catches failures outside it (a lost database).
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.error({ jobId: job.id, emailId: (job.data as { emailId?: unknown }).emailId, err: error }, 'email job gave up');
    }
  });
  logger.info(
    {
      concurrency: config.workerConcurrency,
      prefix: config.queuePrefix,
      transport: config.smtpUrl ? 'smtp' : `files under ${config.mailDir}`,
    },
    'mailer started',
  );
  return {
    worker,
    async stop(graceMs) {
      if ((await stopWorker(worker, graceMs)) === 'timeout') {
        logger.warn('jobs still running after the grace period: left to another worker as stalled');
      }
      await mailer.close();
    },
  };
}
