import { Job, type Queue } from 'bullmq';
import type { WebhookDeliveryQueue } from '../../application/webhooks/ports.js';
import { WEBHOOK_JOB_NAME, webhookJobOptions, type WebhookJobData } from '../../../queues/webhooks.js';
import { deliveryRateKeys } from './redis-delivery-rate-limiter.js';

/** Jobs removed and added per round of a bulk enqueue. */
const ENQUEUE_BATCH = 500;

/**
 * Adds delivery jobs to the `webhooks` queue (jobId = delivery id). A job id that BullMQ still
 * holds (a completed or failed job kept for Bull Board, or one waiting for its next retry)
 * would make `add` a no-op, so that job is removed first. A job that is running right now
 * cannot be removed; it is already sending this delivery, so nothing is lost.
 */
export class BullMqWebhookQueue implements WebhookDeliveryQueue {
  constructor(
    private readonly queue: Queue,
    private readonly schedule: readonly number[],
  ) {}

  async enqueue(deliveryId: string): Promise<void> {
    await this.queue.remove(deliveryId);
    const data: WebhookJobData = { deliveryId };
    await this.queue.add(WEBHOOK_JOB_NAME, data, { ...webhookJobOptions(this.schedule), jobId: deliveryId });
  }

  async enqueueMany(deliveryIds: readonly string[]): Promise<void> {
    const options = webhookJobOptions(this.schedule);
    for (let start = 0; start < deliveryIds.length; start += ENQUEUE_BATCH) {
      const batch = deliveryIds.slice(start, start + ENQUEUE_BATCH);
      // Sent together, so the removals of a batch cost about one round trip.
      await Promise.all(batch.map((deliveryId) => this.queue.remove(deliveryId)));
      await this.queue.addBulk(
        batch.map((deliveryId) => ({
          name: WEBHOOK_JOB_NAME,
          data: { deliveryId } satisfies WebhookJobData,
          opts: { ...options, jobId: deliveryId },
        })),
      );
    }
  }

  async isInFlight(deliveryId: string): Promise<boolean> {
    return (await this.queue.getJobState(deliveryId)) === 'active';
  }

  async wakeWaitingForRate(endpointId: string): Promise<void> {
    // The queue's own connection (BullMQ's Redis escape hatch): the set is under its prefix.
    const redis = await this.queue.backend.client;
    const waiting = await redis.smembers(deliveryRateKeys((type) => this.queue.toKey(type)).waiting(endpointId));
    for (let start = 0; start < waiting.length; start += ENQUEUE_BATCH) {
      await Promise.all(
        waiting.slice(start, start + ENQUEUE_BATCH).map(async (deliveryId) => {
          const job = await Job.fromId(this.queue, deliveryId);
          // Not delayed (any more): it is running or about to, and will read the new rate.
          await job?.promote().catch(() => undefined);
        }),
      );
    }
  }
}
