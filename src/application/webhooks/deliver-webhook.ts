import type { Clock } from '../clock.js';
import { autoDisable } from './auto-disable.js';
import type { AttemptOutcome, DeliveryRateLimiter, DeliveryToSend, WebhookDeliveryRepository, WebhookResponse, WebhookSender } from './ports.js';
import { retryDelayMs } from './retry-schedule.js';
import { signingSecrets } from './secret-rotation.js';

export interface DeliverWebhookInput {
  deliveryId: string;
  /** How many attempts the job already made (0 on its first run): the place in the schedule. */
  attempt: number;
  /** False when the queue will not run the job again whatever happens (its attempts are used up). */
  canRetry: boolean;
  /** True when the job waited for a slot of its endpoint's delivery rate before (see DeliveryRateLimiter). */
  waited?: boolean;
  /**
   * The delivery as it was claimed by the transaction that created it (the relay's first
   * attempt, docs/adr/0024-relay-first-attempt.md): this attempt makes no claim of its own.
   */
  claimed?: DeliveryToSend;
}

/** The delivery rate of every endpoint without one of its own, and the limiter that enforces them. */
export interface DeliveryPacing {
  limiter: DeliveryRateLimiter;
  /** WEBHOOK_DELIVERY_RATE, deliveries per second. */
  defaultRate: number;
}

interface Sent {
  eventId: string;
  endpointId: string;
  response: WebhookResponse;
}

interface Failed extends Sent {
  /** Set when this failure disabled the endpoint by WEBHOOK_DISABLE_AFTER: the reason recorded. */
  endpointDisabled?: string;
}

export type DeliverWebhookOutput =
  /** Nothing to do: unknown delivery, or no longer pending (a duplicate or late job). */
  | { outcome: 'skipped'; reason: 'unknown' | 'not_pending' }
  /** Failed without sending: the endpoint is disabled or deleted. */
  | { outcome: 'endpoint_disabled'; eventId: string; endpointId: string }
  /** Not sent, not an attempt: the endpoint's rate is used up; a slot in `delayMs` is reserved for it. */
  | { outcome: 'throttled'; eventId: string; endpointId: string; delayMs: number; nextAttemptAt: Date }
  | ({ outcome: 'delivered' } & Sent)
  /** The receiver answered 410 Gone: the endpoint is now disabled and the delivery failed. */
  | ({ outcome: 'gone' } & Sent)
  /** Failed attempt; the next one is due in `delayMs`. */
  | ({ outcome: 'retry'; delayMs: number; nextAttemptAt: Date } & Failed)
  /** Failed attempt and the schedule is exhausted: the delivery is failed (and replayable). */
  | ({ outcome: 'failed' } & Failed);

export const ENDPOINT_DISABLED = 'endpoint disabled';

/**
 * One attempt of one webhook delivery (Standard Webhooks, docs/design.md §5).
 * - a delivery that is unknown or not pending is left alone: the job is a duplicate;
 * - a pending one is claimed for this attempt until its outcome is recorded, so a replay
 *   cannot reset it under the attempt;
 * - a delivery whose endpoint is disabled or deleted fails with "endpoint disabled", unsent;
 * - a delivery whose endpoint has had its share of its delivery rate (its own, or the default)
 *   waits for the slot reserved for it, unsent: that is no attempt, so it neither uses up the
 *   retry schedule nor counts as a failure towards the auto-disable;
 * - otherwise its fixed body is signed and POSTed once, and the attempt is logged; it is signed
 *   with the endpoint's secret, and with its previous one too during a rotation's overlap:
 *   - 2xx → delivered; the endpoint's failing streak ends;
 *   - 410 Gone → the endpoint is disabled (no further deliveries) and the delivery failed;
 *   - anything else (other status, redirect, timeout, network error, refused address) →
 *     retried after `schedule[attempt]` seconds ± 20 %, or failed when the schedule (or the
 *     job's attempts) are exhausted; a failed delivery can be replayed;
 *   - a failure also disables the endpoint when every attempt to it has failed for
 *     `disableAfterMs` (WEBHOOK_DISABLE_AFTER, see auto-disable.ts); its pending deliveries
 *     then fail unsent, like those of an endpoint that answered 410;
 * - an endpoint whose stored secrets cannot be read (encrypted under a key this process does
 *   not hold, or altered) is not sent to: the attempt is logged with the reason and retried on
 *   the schedule like a failed one, and its failing streak is left alone.
 */
export class DeliverWebhook {
  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly sender: WebhookSender,
    /** Seconds before each retry (WEBHOOK_RETRY_SCHEDULE). */
    private readonly schedule: readonly number[],
    private readonly clock: Clock,
    /** WEBHOOK_DISABLE_AFTER in ms. */
    private readonly disableAfterMs: number,
    private readonly pacing: DeliveryPacing,
    private readonly random: () => number = Math.random,
  ) {}

  async execute(input: DeliverWebhookInput): Promise<DeliverWebhookOutput> {
    const found = input.claimed ?? (await this.deliveries.claimForSending(input.deliveryId, this.clock.now()));
    if (!found) return { outcome: 'skipped', reason: 'unknown' };
    const { delivery, endpoint, attemptId } = found;
    if (attemptId === null) return { outcome: 'skipped', reason: 'not_pending' };
    const ids = { eventId: delivery.eventId, endpointId: delivery.endpointId };
    if (!endpoint || !endpoint.enabled || endpoint.deletedAt !== null) {
      await this.deliveries.failWithoutAttempt(delivery.id, attemptId, ENDPOINT_DISABLED);
      return { outcome: 'endpoint_disabled', ...ids };
    }
    // Asked only now, so a delivery that will not be sent takes no slot.
    let delayMs: number;
    try {
      delayMs = await this.pacing.limiter.acquire({
        endpointId: endpoint.id,
        deliveryId: delivery.id,
        perSecond: endpoint.deliveryRate ?? this.pacing.defaultRate,
        waited: input.waited === true,
      });
    } catch (error) {
      // The rate could not be asked (Redis down): no attempt was made, so the claim goes (a
      // replay is not refused for the claim's lease) and the caller retries or queues it.
      await this.deliveries.postponeAttempt(delivery.id, attemptId, this.clock.now()).catch(() => undefined);
      throw error;
    }
    if (delayMs > 0) {
      const nextAttemptAt = new Date(this.clock.now().getTime() + delayMs);
      await this.deliveries.postponeAttempt(delivery.id, attemptId, nextAttemptAt);
      return { outcome: 'throttled', ...ids, delayMs, nextAttemptAt };
    }

    const attemptedAt = this.clock.now();
    // Secrets that cannot be read sign nothing: the attempt is logged and retried like a failed
    // one (the operator may add the missing key back meanwhile), without touching the
    // receiver's failing streak, which it says nothing about.
    const { secrets } = endpoint;
    const readable = !('unreadable' in secrets);
    const response: WebhookResponse = readable
      ? await this.sender.send({
          url: endpoint.url,
          secrets: signingSecrets(secrets, attemptedAt),
          deliveryId: delivery.id,
          timestamp: attemptedAt,
          body: delivery.body,
        })
      : { statusCode: null, durationMs: 0, error: `not sent: the signing secret cannot be read: ${secrets.unreadable}` };
    const succeeded = response.statusCode !== null && response.statusCode >= 200 && response.statusCode < 300;
    const attempt = { attemptedAt, ...response };
    const sent = { ...ids, response };
    const now = this.clock.now();
    const record: Omit<AttemptOutcome, 'status'> = {
      deliveryId: delivery.id,
      attemptId,
      attempt,
      nextAttemptAt: null,
      deliveredAt: null,
      endpoint: readable ? { id: endpoint.id, succeeded } : null,
    };

    if (succeeded) {
      await this.deliveries.recordAttempt({ ...record, status: 'delivered', deliveredAt: now });
      return { outcome: 'delivered', ...sent };
    }
    if (response.statusCode === 410) {
      await this.deliveries.recordAttempt({
        ...record,
        status: 'failed',
        disableEndpoint: { reason: `answered 410 Gone at ${now.toISOString()}`, at: now },
      });
      return { outcome: 'gone', ...sent };
    }
    const rule = readable ? autoDisable(endpoint.failingSince, now, this.disableAfterMs) : null;
    const failed: Omit<AttemptOutcome, 'status'> = rule
      ? { ...record, disableEndpoint: { reason: rule.reason, at: now, ifFailingSinceBy: rule.ifFailingSinceBy } }
      : record;
    const report = rule ? { ...sent, endpointDisabled: rule.reason } : sent;
    const retryInMs = input.canRetry ? retryDelayMs(this.schedule, input.attempt + 1, this.random) : null;
    if (retryInMs === null) {
      await this.deliveries.recordAttempt({ ...failed, status: 'failed' });
      return { outcome: 'failed', ...report };
    }
    const nextAttemptAt = new Date(now.getTime() + retryInMs);
    await this.deliveries.recordAttempt({ ...failed, status: 'pending', nextAttemptAt });
    return { outcome: 'retry', delayMs: retryInMs, nextAttemptAt, ...report };
  }
}
