import { emailJobOptions } from '../../../queues/emails.js';
import { OutboxRelay, type RelayPolicies } from '../../infrastructure/relay/outbox-relay.js';
import { Sweeper } from '../../infrastructure/relay/sweeper.js';
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
  stop(): Promise<void>;
}

/** The `relay` process: outbox → email/webhook rows and jobs, plus the sweeper. */
export type RelayDeps = Pick<Infrastructure, 'config' | 'logger' | 'metrics' | 'pool'> & {
  queues: Pick<Infrastructure['queues'], 'emails' | 'webhooks'> & Partial<Pick<Infrastructure['queues'], 'commands'>>;
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
  });
  await relay.start();
  sweeper.start();
  logger.info('relay started');
  return {
    relay,
    sweeper,
    async stop() {
      await Promise.all([relay.stop(), sweeper.stop()]);
    },
  };
}

/**
 * The `relay` process: a plain pg pool (the relay and the sweeper are plain SQL; it also
 * holds the LISTEN connection), the producers of `emails` and `webhooks`, and `commands`
 * (read only: the sweeper looks for command jobs that gave up). No ORM pool, no
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
