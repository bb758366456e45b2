import { emailJobOptions } from '../../../queues/emails.js';
import { OutboxRelay, type RelayPolicies } from '../../infrastructure/relay/outbox-relay.js';
import { OrderExpirySweeper } from '../../infrastructure/relay/order-expiry-sweeper.js';
import { Sweeper } from '../../infrastructure/relay/sweeper.js';
import { PgScheduledCommands } from '../../infrastructure/scheduling/pg-scheduled-commands.js';
import { ScheduledCommandSweeper } from '../../infrastructure/scheduling/scheduled-command-sweeper.js';
import { webhookJobOptions } from '../../../queues/webhooks.js';
import { buildWebhookBody } from '../../infrastructure/webhooks/payload.js';
import type { Config } from '../../infrastructure/config.js';
import { QUEUES } from '../../../queues/names.js';
import { FirstAttempts } from '../../infrastructure/relay/first-attempts.js';
import { buildSendEmail, type MailerOverrides } from './mailer.js';
import { buildDeliverWebhook, type WebhooksOverrides } from './webhooks.js';
import { checkMigrated, openPool, openQueues, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';
import { scheduleRestorer } from './scheduling.js';
import { startRetention } from './retention.js';

export interface RelayRoleOptions {
  /** Polling fallback of the relay (NOTIFY wakes it at once). */
  pollIntervalMs?: number;
  /** With RELAY_FIRST_ATTEMPT: the transport of the emails' first attempts (tests). */
  mailer?: MailerOverrides['mailer'];
  /** With RELAY_FIRST_ATTEMPT: the sender of the webhooks' first attempts (tests). */
  webhooks?: WebhooksOverrides;
}

export interface RunningRelay {
  relay: OutboxRelay;
  sweeper: Sweeper;
  scheduledCommands: ScheduledCommandSweeper;
  orderExpiry: OrderExpirySweeper;
  stop(): Promise<void>;
}

/**
 * The `relay` process: outbox → email/webhook rows and jobs, plus the sweepers (the pending rows'
 * jobs, the job schedulers of recurring schedules and the delayed jobs of scheduled commands that
 * Redis lost; the command jobs that gave up; the ExpireOrder of every overdue pending order, on
 * `commands`).
 */
export type RelayDeps = Pick<Infrastructure, 'config' | 'logger' | 'metrics' | 'pool' | 'producerConnection'> & {
  queues: Pick<Infrastructure['queues'], 'emails' | 'webhooks' | 'commands'>;
};

export async function startRelay(infra: RelayDeps, options: RelayRoleOptions = {}): Promise<RunningRelay> {
  const { config, logger } = infra;
  const webhookOptions = webhookJobOptions(config.webhookRetrySchedule);
  const policies: RelayPolicies = {
    buildWebhookBody,
    emailJobOptions,
    webhookJobOptions: webhookOptions,
  };
  const attempts = config.relayFirstAttempt ? firstAttempts(infra, options, policies) : undefined;
  const relay = new OutboxRelay({
    pool: infra.pool,
    emails: infra.queues.emails,
    webhooks: infra.queues.webhooks,
    policies,
    logger,
    metrics: infra.metrics,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    ...(attempts ? { firstAttempts: attempts.firstAttempts } : {}),
  });
  const sweeper = new Sweeper({
    pool: infra.pool,
    emails: infra.queues.emails,
    webhooks: infra.queues.webhooks,
    emailJobOptions,
    webhookJobOptions: webhookOptions,
    // Command jobs that gave up while PostgreSQL was down are copied into gave_up_commands.
    commands: infra.queues.commands,
    gaveUpKeptMs: config.retention.gaveUpCommandsMs,
    logger,
    intervalMs: config.sweepIntervalMs,
    graceMs: config.sweepGraceMs,
    alsoRestore: scheduleRestorer(infra),
    ...(attempts ? { attempting: (id: string) => attempts.firstAttempts.attempting(id) } : {}),
  });
  // PostgreSQL → Redis for scheduled commands too: their delayed jobs come back if Redis loses them.
  const scheduledCommands = new ScheduledCommandSweeper({
    scheduled: new PgScheduledCommands(infra.pool),
    commands: infra.queues.commands,
    logger,
    intervalMs: config.sweepIntervalMs,
    graceMs: config.sweepGraceMs,
  });
  // Orders still pending ORDER_CONFIRMATION_TIMEOUT after they were placed get their ExpireOrder.
  const orderExpiry = new OrderExpirySweeper({
    pool: infra.pool,
    commands: infra.queues.commands,
    logger,
    timeoutMs: config.orderConfirmationTimeoutMs,
  });
  try {
    await relay.start();
  } catch (error) {
    await attempts?.close();
    throw error;
  }
  sweeper.start();
  scheduledCommands.start();
  orderExpiry.start();
  logger.info(
    { orderConfirmationTimeoutMs: config.orderConfirmationTimeoutMs, firstAttempt: config.relayFirstAttempt },
    'relay started',
  );
  return {
    relay,
    sweeper,
    scheduledCommands,
    orderExpiry,
    async stop() {
      await Promise.all([relay.stop(), sweeper.stop(), scheduledCommands.stop(), orderExpiry.stop()]);
      // After the relay, which waits for its attempts in flight.
      await attempts?.close();
    },
  };
}

/**
 * The relay's first attempts (RELAY_FIRST_ATTEMPT): the mailer's and the webhooks worker's use
 * cases on the relay's pool, the endpoints' delivery rates counted on its producer connection
 * (fail-fast: with Redis down an attempt is not made, and its row waits for the sweeper), up to
 * WORKER_CONCURRENCY at a time.
 */
function firstAttempts(infra: RelayDeps, options: RelayRoleOptions, policies: RelayPolicies) {
  const email = buildSendEmail(infra, options.mailer ? { mailer: options.mailer } : {});
  const webhook = buildDeliverWebhook(infra, infra.producerConnection, options.webhooks);
  const firstAttempts = new FirstAttempts({
    sendEmail: email.sendEmail,
    deliverWebhook: webhook.deliver,
    emails: infra.queues.emails,
    webhooks: infra.queues.webhooks,
    emailJobOptions: policies.emailJobOptions,
    webhookJobOptions: policies.webhookJobOptions,
    logger: infra.logger,
    metrics: infra.metrics,
    concurrency: infra.config.workerConcurrency,
    toSend: (row, attemptId, startedAt) => webhook.repository.toSend(row, attemptId, startedAt),
  });
  return {
    firstAttempts,
    close: async () => {
      await Promise.all([email.close(), webhook.close()]);
    },
  };
}

/**
 * The `relay` process: a plain pg pool (the relay, the sweepers and retention are plain SQL; it
 * also holds the LISTEN connection), the producers of `emails`, `webhooks`, `commands` (the
 * ExpireOrder jobs of overdue orders; the sweeper also looks there for command jobs that gave up) and
 * `maintenance`, and a blocking connection for the one BullMQ worker it runs: retention's, on
 * `maintenance` (docs/adr/0010-retention.md). No ORM pool. The pool pipelines: the relay sends
 * the insert of a batch's rows with its COMMIT.
 */
export function startRelayProcess(config: Config): Promise<RunningProcess> {
  return startRoleProcess(config, 'relay', async ({ observability, resources, redis }) => {
    await checkMigrated(config);
    const pool = openPool(config, observability.logger, resources, { role: 'relay', pipeline: true, relay: true });
    const producerConnection = redis('producer');
    const queues = openQueues([QUEUES.emails, QUEUES.webhooks, QUEUES.commands, QUEUES.maintenance], producerConnection, observability, resources);
    const retention = startRetention({ ...observability, pool, queues, workerConnection: redis('worker') });
    let relay: RunningRelay;
    try {
      relay = await startRelay({ ...observability, pool, queues, producerConnection });
    } catch (error) {
      await retention.stop(1000);
      throw error;
    }
    return {
      async stop() {
        await Promise.all([relay.stop(), retention.stop()]);
      },
    };
  });
}
