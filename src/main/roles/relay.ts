import { emailJobOptions } from '../../../queues/emails.js';
import { OutboxRelay, type RelayPolicies } from '../../infrastructure/relay/outbox-relay.js';
import { Sweeper } from '../../infrastructure/relay/sweeper.js';
import { PgScheduledCommands } from '../../infrastructure/scheduling/pg-scheduled-commands.js';
import { ScheduledCommandSweeper } from '../../infrastructure/scheduling/scheduled-command-sweeper.js';
import { webhookJobOptions } from '../../../queues/webhooks.js';
import { buildWebhookBody } from '../../infrastructure/webhooks/payload.js';
import type { Config } from '../../infrastructure/config.js';
import { QUEUES } from '../../../queues/names.js';
import { checkMigrated, openPool, openQueues, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';

export interface RelayRoleOptions {
  /** Polling fallback of the relay (NOTIFY wakes it at once). */
  pollIntervalMs?: number;
}

export interface RunningRelay {
  relay: OutboxRelay;
  sweeper: Sweeper;
  scheduledCommands: ScheduledCommandSweeper;
  stop(): Promise<void>;
}

/** The `relay` process: outbox → email/webhook rows and jobs, plus the sweepers. */
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
    logger,
    intervalMs: config.sweepIntervalMs,
    graceMs: config.sweepGraceMs,
  });
  // PostgreSQL → Redis for scheduled commands too: their delayed jobs come back if Redis loses them.
  const scheduledCommands = new ScheduledCommandSweeper({
    scheduled: new PgScheduledCommands(infra.pool),
    commands: infra.queues.commands,
    logger,
    intervalMs: config.sweepIntervalMs,
    graceMs: config.sweepGraceMs,
  });
  await relay.start();
  sweeper.start();
  scheduledCommands.start();
  logger.info('relay started');
  return {
    relay,
    sweeper,
    scheduledCommands,
    async stop() {
      await Promise.all([relay.stop(), sweeper.stop(), scheduledCommands.stop()]);
    },
  };
}

/**
 * The `relay` process: a plain pg pool (the relay and the sweepers are plain SQL; it also
 * holds the LISTEN connection) and the producers of `emails`, `webhooks` and (for restored
 * scheduled commands) `commands`. No ORM pool, no
 * blocking connection: it runs no BullMQ worker.
 */
export function startRelayProcess(config: Config): Promise<RunningProcess> {
  return startRoleProcess(config, 'relay', async ({ observability, resources, redis }) => {
    await checkMigrated(config);
    const pool = openPool(config, observability.logger, resources);
    const queues = openQueues([QUEUES.emails, QUEUES.webhooks, QUEUES.commands], redis('producer'), observability, resources);
    return startRelay({ ...observability, pool, queues });
  });
}
