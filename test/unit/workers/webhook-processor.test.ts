import { DelayedError, type Job } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DeliverWebhookInput, DeliverWebhookOutput } from '../../../src/application/webhooks/deliver-webhook.js';
import { webhookJobOptions } from '../../../queues/webhooks.js';
import { createWebhookProcessor, type WebhookOutcome } from '../../../workers/webhook-processor.js';
import { processorOver } from '../support/processor.js';

const deliveryId = '01936a5e-7c1d-7000-8000-000000000001';
const ids = { eventId: 'event-1', endpointId: 'endpoint-1' };

/** A job as the processor sees it, recording what it asks of BullMQ. */
function job(data: Record<string, unknown> = { deliveryId }, attemptsMade = 0) {
  const calls: { updateData: unknown[]; moveToDelayed: [number, string | undefined][] } = { updateData: [], moveToDelayed: [] };
  const fake = {
    id: deliveryId,
    data,
    attemptsMade,
    opts: webhookJobOptions([5, 300]),
    updateData: async (next: unknown) => void calls.updateData.push(next),
    moveToDelayed: async (timestamp: number, token?: string) => void calls.moveToDelayed.push([timestamp, token]),
  };
  return { job: fake as unknown as Job, calls };
}

/** The processor over a use case that answers `output`, remembering what it was asked and counted. */
const setup = (output: DeliverWebhookOutput) =>
  processorOver<DeliverWebhookInput, DeliverWebhookOutput, WebhookOutcome, ReturnType<typeof createWebhookProcessor>>(output, (deliver, countWebhook) =>
    createWebhookProcessor(deliver, pino({ level: 'silent' }), { countWebhook }),
  );

describe('webhook processor, a delivery over its endpoint rate', () => {
  const throttled: DeliverWebhookOutput = { outcome: 'throttled', ...ids, delayMs: 1200, nextAttemptAt: new Date() };

  it('moves its job to delayed until its place, marked as having waited, and uses up no attempt', async () => {
    const { process, inputs, counted } = setup(throttled);
    const { job: first, calls } = job();
    const before = Date.now();
    await expect(process(first, 'lock-token')).rejects.toBeInstanceOf(DelayedError);
    expect(inputs).toEqual([{ deliveryId, attempt: 0, canRetry: true, waited: false }]);
    expect(calls.updateData).toEqual([{ deliveryId, waitedForRate: true }]);
    expect(calls.moveToDelayed).toHaveLength(1);
    const [until, token] = calls.moveToDelayed[0]!;
    expect(token).toBe('lock-token');
    expect(until).toBeGreaterThanOrEqual(before + 1200);
    expect(until).toBeLessThanOrEqual(Date.now() + 1200);
    expect(counted).toEqual(['throttled']);
  });

  it('tells the use case the job waited before, and does not rewrite its data again', async () => {
    const { process, inputs } = setup(throttled);
    const { job: again, calls } = job({ deliveryId, attemptsBefore: 1, waitedForRate: true }, 1);
    await expect(process(again, 'lock-token')).rejects.toBeInstanceOf(DelayedError);
    expect(inputs).toEqual([{ deliveryId, attempt: 2, canRetry: false, waited: true }]);
    expect(calls.updateData).toEqual([]);
    expect(calls.moveToDelayed).toHaveLength(1);
  });
});
