import type { DeliverWebhookOutput } from '../../application/webhooks/deliver-webhook.js';
import type { Logger } from '../logger.js';

/** An attempt that was made: the request went out, or was refused on the way. */
export type MadeAttempt = Extract<DeliverWebhookOutput, { outcome: 'delivered' | 'gone' | 'retry' | 'failed' }>;

/**
 * The log lines of an attempt that was made, the same whoever made it (the webhooks worker's
 * job, or the relay's first attempt): its outcome, and the endpoint disabled by
 * WEBHOOK_DISABLE_AFTER when this failure did it.
 */
export function logMadeAttempt(log: Logger, result: MadeAttempt): void {
  const fields = { eventId: result.eventId, endpointId: result.endpointId, ...result.response };
  if ((result.outcome === 'retry' || result.outcome === 'failed') && result.endpointDisabled) {
    log.warn({ ...fields, reason: result.endpointDisabled }, 'webhook endpoint disabled: WEBHOOK_DISABLE_AFTER');
  }
  switch (result.outcome) {
    case 'delivered':
      log.info(fields, 'webhook delivered');
      return;
    case 'gone':
      log.warn(fields, 'webhook endpoint answered 410 Gone: endpoint disabled');
      return;
    case 'retry':
      log.warn({ ...fields, retryInMs: result.delayMs }, 'webhook attempt failed, will retry');
      return;
    case 'failed':
      log.error(fields, 'webhook delivery failed after its last attempt');
  }
}
