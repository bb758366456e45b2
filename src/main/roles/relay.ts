import { emailJobOptions } from '../../../queues/emails.js';
import { emailsForEvent } from '../../infrastructure/mail/templates.js';
import { OutboxRelay, type RelayPolicies } from '../../infrastructure/relay/outbox-relay.js';
import { Sweeper } from '../../infrastructure/relay/sweeper.js';
import { webhookJobOptions } from '../../../queues/webhooks.js';
import { buildWebhookBody } from '../../infrastructure/webhooks/payload.js';
import type { Infrastructure } from '../infrastructure.js';

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
export async function startRelay(infra: Infrastructure, options: RelayRoleOptions = {}): Promise<RunningRelay> {
  const { config, logger } = infra;
  const webhookOptions = webhookJobOptions(config.webhookRetrySchedule);
  const policies: RelayPolicies = {
    emailsForEvent,
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
