import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { DeliverWebhook } from '../src/application/webhooks/deliver-webhook.js';
import type { Logger } from '../src/infrastructure/logger.js';
import { logMadeAttempt } from '../src/infrastructure/webhooks/attempt-log.js';
import { encodeFailure } from '../queues/failure.js';
import { WebhookRetryError, webhookJobData, type WebhookJobData } from '../queues/webhooks.js';

/** What a webhook job came to; `failed` means the retry schedule is exhausted. */
export type WebhookOutcome = 'delivered' | 'skipped' | 'endpoint_disabled' | 'throttled' | 'gone' | 'retry' | 'failed';

export interface WebhookMetrics {
  /** Counts each job's outcome (Prometheus `conveyor_webhook_deliveries_total`). */
  countWebhook(outcome: WebhookOutcome): void;
}

/** What a webhook job returns (kept on the completed job for Bull Board). */
export interface WebhookJobResult {
  outcome: 'skipped' | 'endpoint_disabled' | 'delivered';
  statusCode?: number | null;
}

/**
 * The processor of the `webhooks` queue: one attempt of one delivery per run (the use case
 * does the work and records it in PostgreSQL), mapped to BullMQ:
 * - delivered, a duplicate job, a disabled endpoint → the job completes;
 * - the endpoint's delivery rate used up → the job moves itself to delayed until the slot
 *   reserved for it, marked as having waited, and throws DelayedError (BullMQ's way to
 *   reschedule a job from its processor: no attempt is used up, nothing is failed);
 * - a failed attempt with a retry due → WebhookRetryError, whose delay (already written to
 *   next_attempt_at) the worker's backoff strategy applies;
 * - 410 Gone, or the schedule exhausted → UnrecoverableError (the job fails for good; the
 *   delivery is `failed` and can be replayed).
 * Errors of our own (database down) are thrown as they are: BullMQ retries them by the schedule.
 */
export function createWebhookProcessor(deliver: Pick<DeliverWebhook, 'execute'>, logger: Logger, metrics?: WebhookMetrics) {
  return async function processWebhook(job: Job, token?: string): Promise<WebhookJobResult> {
    const parsed = webhookJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(encodeFailure({ code: 'invalid_payload', message: 'deliveryId must be a UUID' }));
    const { deliveryId, attemptsBefore = 0, waitedForRate = false } = parsed.data;
    const attempt = attemptsBefore + job.attemptsMade;
    const log = logger.child({ jobId: job.id, deliveryId, attempt: attempt + 1 });
    const result = await deliver.execute({
      deliveryId,
      attempt,
      canRetry: attempt + 1 < (job.opts.attempts ?? 1),
      waited: waitedForRate,
    });
    metrics?.countWebhook(result.outcome);

    switch (result.outcome) {
      case 'skipped':
        log.info({ reason: result.reason }, 'webhook delivery skipped: nothing pending');
        return { outcome: 'skipped' };
      case 'endpoint_disabled':
        log.warn({ eventId: result.eventId, endpointId: result.endpointId }, 'webhook delivery failed: endpoint disabled');
        return { outcome: 'endpoint_disabled' };
      case 'throttled': {
        // Debug: a backlog logs one line per delivery per wait otherwise; the metric counts them.
        log.debug({ endpointId: result.endpointId, waitMs: result.delayMs }, 'webhook delivery waits for its endpoint\'s rate');
        if (!waitedForRate) await job.updateData({ ...parsed.data, waitedForRate: true } satisfies WebhookJobData);
        await job.moveToDelayed(Date.now() + result.delayMs, token);
        throw new DelayedError();
      }
      default:
        break;
    }
    logMadeAttempt(log, result);
    switch (result.outcome) {
      case 'delivered':
        return { outcome: 'delivered', statusCode: result.response.statusCode };
      case 'gone':
        throw new UnrecoverableError(encodeFailure({ code: 'endpoint_gone', message: 'the endpoint answered 410 and is disabled' }));
      case 'retry':
        throw new WebhookRetryError(`attempt failed: ${result.response.error ?? 'unknown error'}`, result.delayMs);
      case 'failed':
        throw new UnrecoverableError(encodeFailure({ code: 'delivery_failed', message: result.response.error ?? 'unknown error' }));
    }
  };
}
