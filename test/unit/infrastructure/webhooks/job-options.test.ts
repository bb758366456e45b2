import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../../src/application/webhooks/retry-schedule.js';
import {
  WEBHOOK_BACKOFF_TYPE,
  WebhookRetryError,
  webhookBackoffStrategy,
  webhookJobOptions,
} from '../../../../queues/webhooks.js';

describe('webhook job options', () => {
  it('give one attempt plus one per scheduled retry, with the custom backoff', () => {
    expect(webhookJobOptions([5, 300, 1800])).toMatchObject({ attempts: 4, backoff: { type: WEBHOOK_BACKOFF_TYPE } });
  });

  it('back off by schedule[attemptsMade - 1] seconds ± 20 %, never negative', () => {
    const schedule = [5, 300, 0];
    const low = webhookBackoffStrategy((attemptsMade) => retryDelayMs(schedule, attemptsMade, () => 0));
    const high = webhookBackoffStrategy((attemptsMade) => retryDelayMs(schedule, attemptsMade, () => 0.999_999));
    expect(low(1, WEBHOOK_BACKOFF_TYPE)).toBe(4000);
    expect(high(1, WEBHOOK_BACKOFF_TYPE)).toBe(6000);
    expect(low(2, WEBHOOK_BACKOFF_TYPE)).toBe(240_000);
    expect(low(3, WEBHOOK_BACKOFF_TYPE)).toBe(0);
    expect(low(4, WEBHOOK_BACKOFF_TYPE)).toBe(-1);
    for (let i = 0; i < 1000; i += 1) {
      const delay = retryDelayMs([0.1], 1) ?? -1;
      expect(delay).toBeGreaterThanOrEqual(80);
      expect(delay).toBeLessThanOrEqual(120);
    }
  });

  it('use the delay the processor already stored when it threw a WebhookRetryError', () => {
    expect(webhookBackoffStrategy((attemptsMade) => retryDelayMs([5], attemptsMade))(1, WEBHOOK_BACKOFF_TYPE, new WebhookRetryError('failed', 1234))).toBe(1234);
  });
});
