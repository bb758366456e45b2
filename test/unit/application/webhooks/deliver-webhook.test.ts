import { beforeEach, describe, expect, it } from 'vitest';
import { DeliverWebhook } from '../../../../src/application/webhooks/deliver-webhook.js';
import type { WebhookResponse } from '../../../../src/application/webhooks/ports.js';
import { InMemoryWebhooks, ScriptedRateLimiter, ScriptedSender, fixedClock, unlimited } from './fakes.js';

const ok: WebhookResponse = { statusCode: 204, durationMs: 12, error: null };
const serverError: WebhookResponse = { statusCode: 500, durationMs: 30, error: 'HTTP 500: boom' };
const gone: WebhookResponse = { statusCode: 410, durationMs: 5, error: 'HTTP 410' };
const refused: WebhookResponse = { statusCode: null, durationMs: 1, error: 'ECONNREFUSED: connect ECONNREFUSED' };

const schedule = [5, 300, 1800];
const DISABLE_AFTER_MS = 5 * 86_400_000;
let store: InMemoryWebhooks;

beforeEach(async () => {
  store = new InMemoryWebhooks();
  await store.add({ id: 'ep', url: 'https://hooks.example.com/', eventTypes: ['*'], secret: 'whsec_c2VjcmV0', deliveryRate: null, createdAt: new Date(0) });
  store.seedDelivery({ id: 'd1', endpointId: 'ep', body: '{"type":"order.placed","data":{}}' });
});

// random() = 0.5 means no jitter.
const useCase = (sender: ScriptedSender, random = () => 0.5) => new DeliverWebhook(store, sender, schedule, fixedClock(), DISABLE_AFTER_MS, unlimited(), random);

describe('DeliverWebhook', () => {
  it('sends the stored body, signed for the delivery id, and marks a 2xx delivered', async () => {
    const sender = new ScriptedSender([ok]);
    const result = await useCase(sender).execute({ deliveryId: 'd1', attempt: 0, canRetry: true });
    expect(result).toMatchObject({ outcome: 'delivered', eventId: 'event-of-d1', endpointId: 'ep' });
    expect(sender.requests).toEqual([
      {
        url: 'https://hooks.example.com/',
        secrets: ['whsec_c2VjcmV0'],
        deliveryId: 'd1',
        timestamp: new Date('2026-03-01T12:00:00.000Z'),
        body: '{"type":"order.placed","data":{}}',
      },
    ]);
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 204, deliveredAt: expect.any(Date) });
    expect(store.attempts.get('d1')).toEqual([{ attemptedAt: expect.any(Date), statusCode: 204, durationMs: 12, error: null }]);
  });

  it('sends nothing when the secrets cannot be read: the reason is logged as the attempt, retried on the schedule, the streak untouched', async () => {
    const endpoint = store.endpoints.get('ep')!;
    endpoint.secrets = { unreadable: 'encrypted with key id "old", which WEBHOOK_SECRET_KEYS does not hold' };
    const sender = new ScriptedSender([]);

    const result = await useCase(sender).execute({ deliveryId: 'd1', attempt: 0, canRetry: true });

    expect(sender.requests).toEqual([]);
    expect(result).toMatchObject({ outcome: 'retry', delayMs: 5000, response: { statusCode: null } });
    const reason = 'not sent: the signing secret cannot be read: encrypted with key id "old", which WEBHOOK_SECRET_KEYS does not hold';
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null, lastError: reason });
    expect(endpoint).toMatchObject({ enabled: true, failingSince: null });

    // The schedule exhausted: failed (and replayable once the key is back), the endpoint still enabled.
    const last = await useCase(new ScriptedSender([])).execute({ deliveryId: 'd1', attempt: 3, canRetry: true });
    expect(last).toMatchObject({ outcome: 'failed' });
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'failed', attempts: 2, lastError: reason });
    expect(endpoint).toMatchObject({ enabled: true, failingSince: null });
  });

  it('schedules the next attempt from the schedule after a failure', async () => {
    const result = await useCase(new ScriptedSender([serverError])).execute({ deliveryId: 'd1', attempt: 1, canRetry: true });
    expect(result).toMatchObject({ outcome: 'retry', delayMs: 300_000 });
    expect(store.deliveries.get('d1')).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: 500,
      lastError: 'HTTP 500: boom',
      nextAttemptAt: new Date(Date.parse('2026-03-01T12:00:00.000Z') + 300_000),
    });
  });

  it('spreads the retry delay by at most 20 %', async () => {
    const early = await useCase(new ScriptedSender([refused]), () => 0).execute({ deliveryId: 'd1', attempt: 0, canRetry: true });
    store.deliveries.get('d1')!.status = 'pending';
    const late = await useCase(new ScriptedSender([refused]), () => 0.999_999).execute({ deliveryId: 'd1', attempt: 0, canRetry: true });
    expect(early).toMatchObject({ outcome: 'retry', delayMs: 4000 });
    expect(late).toMatchObject({ outcome: 'retry', delayMs: 6000 });
  });

  it('fails the delivery once the schedule is exhausted, or the job has no attempt left', async () => {
    expect(await useCase(new ScriptedSender([refused])).execute({ deliveryId: 'd1', attempt: 3, canRetry: true })).toMatchObject({
      outcome: 'failed',
    });
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: null, nextAttemptAt: null });

    store.seedDelivery({ id: 'd2', endpointId: 'ep' });
    expect(await useCase(new ScriptedSender([refused])).execute({ deliveryId: 'd2', attempt: 0, canRetry: false })).toMatchObject({
      outcome: 'failed',
    });
  });

  it('disables the endpoint on 410 Gone and fails the delivery without retry', async () => {
    const result = await useCase(new ScriptedSender([gone])).execute({ deliveryId: 'd1', attempt: 0, canRetry: true });
    expect(result.outcome).toBe('gone');
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'failed', lastStatusCode: 410 });
    expect(store.endpoints.get('ep')).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
  });

  it('fails a delivery to a disabled or deleted endpoint without sending', async () => {
    store.endpoints.get('ep')!.enabled = false;
    const sender = new ScriptedSender([]);
    expect(await useCase(sender).execute({ deliveryId: 'd1', attempt: 0, canRetry: true })).toMatchObject({ outcome: 'endpoint_disabled' });
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'failed', lastError: 'endpoint disabled', attempts: 0 });

    store.endpoints.get('ep')!.enabled = true;
    store.endpoints.get('ep')!.deletedAt = new Date();
    store.seedDelivery({ id: 'd2', endpointId: 'ep' });
    expect(await useCase(sender).execute({ deliveryId: 'd2', attempt: 0, canRetry: true })).toMatchObject({ outcome: 'endpoint_disabled' });
    expect(sender.requests).toHaveLength(0);
  });

  it('does nothing for a delivery that is not pending or unknown (a duplicate job)', async () => {
    store.deliveries.get('d1')!.status = 'delivered';
    const sender = new ScriptedSender([]);
    expect(await useCase(sender).execute({ deliveryId: 'd1', attempt: 0, canRetry: true })).toEqual({ outcome: 'skipped', reason: 'not_pending' });
    expect(await useCase(sender).execute({ deliveryId: 'nope', attempt: 0, canRetry: true })).toEqual({ outcome: 'skipped', reason: 'unknown' });
    expect(sender.requests).toHaveLength(0);
  });
});

describe('DeliverWebhook and the endpoint delivery rate', () => {
  const paced = (sender: ScriptedSender, limiter: ScriptedRateLimiter) =>
    new DeliverWebhook(store, sender, schedule, fixedClock(), DISABLE_AFTER_MS, { limiter, defaultRate: 25 }, () => 0.5);

  it('holds a delivery whose endpoint has had its share: unsent, no attempt, due at the reserved slot', async () => {
    const sender = new ScriptedSender([ok]);
    const limiter = new ScriptedRateLimiter([1500]);
    const result = await paced(sender, limiter).execute({ deliveryId: 'd1', attempt: 0, canRetry: false });
    const due = new Date(Date.parse('2026-03-01T12:00:00.000Z') + 1500);
    expect(result).toEqual({ outcome: 'throttled', eventId: 'event-of-d1', endpointId: 'ep', delayMs: 1500, nextAttemptAt: due });
    expect(sender.requests).toEqual([]);
    // Not an attempt: nothing counted or logged, the claim is released, the streak untouched —
    // even as the job's last attempt (canRetry false), the delivery stays pending.
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: due, claim: null });
    expect(store.attempts.get('d1')).toBeUndefined();
    expect(store.endpoints.get('ep')).toMatchObject({ enabled: true, failingSince: null });

    // Its next run, having waited, gets its slot and sends.
    const next = await paced(sender, limiter).execute({ deliveryId: 'd1', attempt: 0, canRetry: false, waited: true });
    expect(next).toMatchObject({ outcome: 'delivered' });
    expect(limiter.requests.map((request) => request.waited)).toEqual([false, true]);
  });

  it('releases its claim and throws when the rate cannot be asked (Redis down): no attempt, nothing sent', async () => {
    const down = new Error('Connection is closed.');
    const limiter = { acquire: async () => Promise.reject(down) };
    const sender = new ScriptedSender([ok]);
    const deliver = new DeliverWebhook(store, sender, schedule, fixedClock(), DISABLE_AFTER_MS, { limiter, defaultRate: 25 });
    await expect(deliver.execute({ deliveryId: 'd1', attempt: 0, canRetry: true })).rejects.toBe(down);
    expect(sender.requests).toEqual([]);
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'pending', attempts: 0, claim: null });
    expect(store.attempts.get('d1')).toBeUndefined();
  });

  it("asks for the endpoint's own rate, or the default when it has none", async () => {
    const limiter = new ScriptedRateLimiter();
    await paced(new ScriptedSender([ok]), limiter).execute({ deliveryId: 'd1', attempt: 0, canRetry: true });
    store.endpoints.get('ep')!.deliveryRate = 2.5;
    store.seedDelivery({ id: 'd2', endpointId: 'ep' });
    await paced(new ScriptedSender([ok]), limiter).execute({ deliveryId: 'd2', attempt: 0, canRetry: true });
    expect(limiter.requests).toEqual([
      { endpointId: 'ep', deliveryId: 'd1', perSecond: 25, waited: false },
      { endpointId: 'ep', deliveryId: 'd2', perSecond: 2.5, waited: false },
    ]);
  });

  it('takes no slot for a delivery it will not send', async () => {
    const limiter = new ScriptedRateLimiter();
    store.endpoints.get('ep')!.enabled = false;
    expect((await paced(new ScriptedSender([]), limiter).execute({ deliveryId: 'd1', attempt: 0, canRetry: true })).outcome).toBe(
      'endpoint_disabled',
    );
    store.seedDelivery({ id: 'd3', endpointId: 'ep', status: 'delivered' });
    expect((await paced(new ScriptedSender([]), limiter).execute({ deliveryId: 'd3', attempt: 0, canRetry: true })).outcome).toBe('skipped');
    expect(limiter.requests).toEqual([]);
  });
});
