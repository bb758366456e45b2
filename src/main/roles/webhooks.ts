import pg from 'pg';
import { QueueKeys } from 'bullmq';
import { uuidv7 } from '../../infrastructure/ids.js';
import { systemClock, type Clock } from '../../application/clock.js';
import { CreateWebhookEndpoint } from '../../application/webhooks/create-webhook-endpoint.js';
import { DeleteWebhookEndpoint } from '../../application/webhooks/delete-webhook-endpoint.js';
import { DeliverWebhook } from '../../application/webhooks/deliver-webhook.js';
import { GetWebhookEndpoint } from '../../application/webhooks/get-webhook-endpoint.js';
import { ListWebhookDeliveries } from '../../application/webhooks/list-webhook-deliveries.js';
import { ListWebhookEndpoints } from '../../application/webhooks/list-webhook-endpoints.js';
import type { WebhookManagement } from '../../application/webhooks/management.js';
import type { WebhookSender, WebhookUrlGuard } from '../../application/webhooks/ports.js';
import { retryDelayMs } from '../../application/webhooks/retry-schedule.js';
import { ReplayWebhookDeliveries } from '../../application/webhooks/replay-webhook-deliveries.js';
import { ReplayWebhookDelivery, attemptLeaseMs } from '../../application/webhooks/replay-webhook-delivery.js';
import { RotateWebhookSecret } from '../../application/webhooks/rotate-webhook-secret.js';
import { SendTestWebhook } from '../../application/webhooks/send-test-webhook.js';
import { UpdateWebhookEndpoint } from '../../application/webhooks/update-webhook-endpoint.js';
import { BullMqWebhookQueue } from '../../infrastructure/webhooks/bullmq-webhook-queue.js';
import { webhookBackoffStrategy } from '../../../queues/webhooks.js';
import { buildWebhookBody } from '../../infrastructure/webhooks/payload.js';
import { PostgresWebhookRepository } from '../../infrastructure/webhooks/postgres-webhook-repository.js';
import { reencryptWebhookSecrets, type ReencryptReport } from '../../infrastructure/webhooks/reencrypt-secrets.js';
import { WebhookSecretCipher } from '../../infrastructure/webhooks/secret-cipher.js';
import { RedisDeliveryRateLimiter, deliveryRateKeys } from '../../infrastructure/webhooks/redis-delivery-rate-limiter.js';
import { generateWebhookSecret } from '../../infrastructure/webhooks/signing.js';
import { SsrfUrlGuard } from '../../infrastructure/webhooks/ssrf.js';
import {
  UndiciWebhookSender,
  type UndiciWebhookSenderOptions,
} from '../../infrastructure/webhooks/undici-webhook-sender.js';
import type { RedisConnection } from '../../infrastructure/redis/connection.js';
import { QUEUES } from '../../../queues/names.js';
import { createWebhookProcessor } from '../../../workers/webhook-processor.js';
import type { Config } from '../../infrastructure/config.js';
import { applicationName, checkMigrated, openPool, startRoleProcess, type Infrastructure } from '../infrastructure.js';
import type { RunningProcess } from '../lifecycle.js';
import { startQueueWorker, type QueueWorkerDeps, type RunningWorker } from './queue-worker.js';

export interface WebhooksOverrides {
  /** Replaces the undici sender altogether. */
  sender?: WebhookSender;
  /** Options of the undici sender (timeouts, response cap, resolver); allowPrivate comes from the config. */
  senderOptions?: Omit<UndiciWebhookSenderOptions, 'allowPrivate'>;
  clock?: Clock;
}

/**
 * The `webhooks` role: a BullMQ worker that sends one delivery attempt per job, retried on
 * the WEBHOOK_RETRY_SCHEDULE by the backoff strategy registered here (the relay adds the jobs
 * with `webhookJobOptions`).
 */
export type WebhooksDeps = QueueWorkerDeps & Pick<Infrastructure, 'pool'>;

/**
 * The worker opens each endpoint's secret once a minute, not once per delivery (ADR 0015):
 * the cache is keyed by the stored ciphertext, so a rotation or re-encryption takes effect on
 * the next delivery; the enabled flag, URL and rate are read from the row every time.
 */
export const DELIVERY_SECRET_CACHE = { ttlMs: 60_000, maxEntries: 1_000 };

/**
 * One attempt of one delivery, as the webhooks worker and the relay's first attempt (ADR 0024)
 * make it, with the sender it built (closed by `close`) and the endpoints' delivery rates
 * counted on `connection`.
 */
export function buildDeliverWebhook(
  infra: Pick<Infrastructure, 'config' | 'pool'>,
  connection: RedisConnection,
  overrides: WebhooksOverrides = {},
): { deliver: DeliverWebhook; repository: PostgresWebhookRepository; close: () => Promise<void> } {
  const { config } = infra;
  const { sender, close } = buildSender(infra, overrides);
  const repository = new PostgresWebhookRepository(infra.pool, new WebhookSecretCipher(config.webhookSecretKeys, DELIVERY_SECRET_CACHE));
  const deliver = new DeliverWebhook(
    repository,
    sender,
    config.webhookRetrySchedule,
    overrides.clock ?? systemClock,
    config.webhookDisableAfterMs,
    {
      limiter: new RedisDeliveryRateLimiter(
        connection,
        deliveryRateKeys((type) => new QueueKeys(config.queuePrefix).toKey(QUEUES.webhooks, type)),
      ),
      defaultRate: config.webhookDeliveryRate,
    },
  );
  return { deliver, repository, close };
}

export function startWebhooks(infra: WebhooksDeps, overrides: WebhooksOverrides = {}): RunningWorker {
  const { config, logger } = infra;
  // On the worker's connection, as BullMQ's own commands are (its blocking reads use a copy).
  const { deliver, close: closeSender } = buildDeliverWebhook(infra, infra.workerConnection, overrides);
  const running = startQueueWorker(infra, QUEUES.webhooks, {
    processor: createWebhookProcessor(deliver, logger, infra.metrics),
    backoffStrategy: webhookBackoffStrategy((attemptsMade) => retryDelayMs(config.webhookRetrySchedule, attemptsMade)),
    close: closeSender,
  });
  logger.info(
    {
      concurrency: config.workerConcurrency,
      prefix: config.queuePrefix,
      retrySchedule: config.webhookRetrySchedule,
      disableAfterMs: config.webhookDisableAfterMs,
      deliveryRate: config.webhookDeliveryRate,
      allowPrivate: config.webhookAllowPrivate,
    },
    'webhooks worker started',
  );
  return running;
}

// The role closes the sender it built (its connection pool), not one it was given.
function buildSender(infra: Pick<Infrastructure, 'config'>, overrides: WebhooksOverrides): { sender: WebhookSender; close: () => Promise<void> } {
  if (overrides.sender) return { sender: overrides.sender, close: async () => undefined };
  const sender = new UndiciWebhookSender({
    timeoutMs: infra.config.webhookTimeoutMs,
    ...overrides.senderOptions,
    allowPrivate: infra.config.webhookAllowPrivate,
  });
  return { sender, close: () => sender.close() };
}

/** The webhook endpoint use cases, for the HTTP routes (docs/design.md §3). */
export function createWebhookManagement(
  infra: Pick<Infrastructure, 'config' | 'pool' | 'queues'>,
  overrides: { urlGuard?: WebhookUrlGuard; clock?: Clock } = {},
): WebhookManagement {
  const { config } = infra;
  const repository = new PostgresWebhookRepository(infra.pool, new WebhookSecretCipher(config.webhookSecretKeys));
  const clock = overrides.clock ?? systemClock;
  const urlGuard = overrides.urlGuard ?? new SsrfUrlGuard({ allowPrivate: config.webhookAllowPrivate });
  const queue = new BullMqWebhookQueue(infra.queues.webhooks, config.webhookRetrySchedule);
  const leaseMs = attemptLeaseMs(config.webhookTimeoutMs);
  return {
    createEndpoint: new CreateWebhookEndpoint(repository, urlGuard, generateWebhookSecret, uuidv7, clock),
    listEndpoints: new ListWebhookEndpoints(repository),
    getEndpoint: new GetWebhookEndpoint(repository),
    deleteEndpoint: new DeleteWebhookEndpoint(repository, clock),
    updateEndpoint: new UpdateWebhookEndpoint(repository, urlGuard, clock, queue),
    rotateSecret: new RotateWebhookSecret(repository, generateWebhookSecret, clock, config.webhookSecretOverlapMs),
    sendTest: new SendTestWebhook(repository, repository, queue, buildWebhookBody, uuidv7, clock),
    listDeliveries: new ListWebhookDeliveries(repository),
    replayDelivery: new ReplayWebhookDelivery(repository, repository, queue, clock, leaseMs),
    replayDeliveries: new ReplayWebhookDeliveries(repository, repository, queue, clock, leaseMs),
  };
}

/**
 * The `webhooks` process: a blocking Redis connection and one plain pg pool (the webhook
 * repository is plain SQL). No ORM pool: the migration check borrows a one-connection ORM and
 * closes it before the role starts.
 */
export function startWebhooksProcess(config: Config): Promise<RunningProcess> {
  return startRoleProcess(config, 'webhooks', async ({ observability, resources, redis }) => {
    await checkMigrated(config);
    const pool = openPool(config, observability.logger, resources, { role: 'webhooks' });
    return startWebhooks({ ...observability, pool, workerConnection: redis('worker') });
  });
}

/**
 * Encrypts every stored webhook secret under the first key of WEBHOOK_SECRET_KEYS (plaintext
 * from before secrets were encrypted, and values under an older key), on a connection of its
 * own: the release step after the migrations, and `npm run webhooks:reencrypt`.
 */
export async function reencryptSecrets(config: Pick<Config, 'databaseUrl' | 'webhookSecretKeys'>): Promise<ReencryptReport> {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 1, fallback_application_name: applicationName('webhooks-reencrypt') });
  try {
    return await reencryptWebhookSecrets(pool, new WebhookSecretCipher(config.webhookSecretKeys));
  } finally {
    await pool.end();
  }
}
