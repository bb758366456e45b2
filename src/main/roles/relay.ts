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
import { checkMigrated, openPool, openQueues, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';
import { scheduleRestorer } from './scheduling.js';
import { startRetention } from './retention.js';

export interface RelayRoleOptions {
  /** Polling fallback of the relay (NOTIFY wakes it at once). */
  pollIntervalMs?: number;
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
export type RelayDeps = Pick<Infrastructure, 'config' | 'logger' | 'metrics' | 'pool'> & {
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
  const relay = new OutboxRelay({
    pool: infra.pool,
    emails: infra.queues.emails,
    webhooks: infra.queues.webhooks,
    policies,
    logger,
    metrics: infra.metrics,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
  });
  const sweeper = new Sweeper({
    pool: infra.pool,
    emails: infra.queues.emails,
    webhooks: infra.queues.webhooks,
    emailJobOptions,
    webhookJobOptions: webhookOptions,
    // Command jobs that gave up while PostgreSQL was down are copied into gave_up_commands.
    commands: infra.queues.commands,
    logger,
    intervalMs: config.sweepIntervalMs,
    graceMs: config.sweepGraceMs,
    alsoRestore: scheduleRestorer(infra),
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
  await relay.start();
  sweeper.start();
  scheduledCommands.start();
  orderExpiry.start();
  logger.info({ orderConfirmationTimeoutMs: config.orderConfirmationTimeoutMs }, 'relay started');
  return {
    relay,
    sweeper,
    scheduledCommands,
    orderExpiry,
    async stop() {
      await Promise.all([relay.stop(), sweeper.stop(), scheduledCommands.stop(), orderExpiry.stop()]);
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
    const pool = openPool(config, observability.logger, resources, { pipeline: true });
    const queues = openQueues([QUEUES.emails, QUEUES.webhooks, QUEUES.commands, QUEUES.maintenance], redis('producer'), observability, resources);
    const retention = startRetention({ ...observability, pool, queues, workerConnection: redis('worker') });
    let relay: RunningRelay;
    try {
      relay = await startRelay({ ...observability, pool, queues });
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
