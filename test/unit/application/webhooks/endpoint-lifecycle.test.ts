import { beforeEach, describe, expect, it } from 'vitest';
import { CreateWebhookEndpoint } from '../../../../src/application/webhooks/create-webhook-endpoint.js';
import { DeliverWebhook } from '../../../../src/application/webhooks/deliver-webhook.js';
import type { WebhookResponse, WebhookUrlGuard } from '../../../../src/application/webhooks/ports.js';
import { ReplayWebhookDeliveries } from '../../../../src/application/webhooks/replay-webhook-deliveries.js';
import { RotateWebhookSecret } from '../../../../src/application/webhooks/rotate-webhook-secret.js';
import { SendTestWebhook } from '../../../../src/application/webhooks/send-test-webhook.js';
import { UpdateWebhookEndpoint } from '../../../../src/application/webhooks/update-webhook-endpoint.js';
import { FixedClock } from '../../fakes/fixed-clock.js';
import { domainRejectionOf } from '../../support/errors.js';
import { InMemoryWebhooks, RecordingQueue, ScriptedSender, unlimited } from './fakes.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ok: WebhookResponse = { statusCode: 200, durationMs: 3, error: null };
const down: WebhookResponse = { statusCode: 503, durationMs: 3, error: 'HTTP 503' };
const guard: WebhookUrlGuard = {
  refusalFor: async (url) => (new URL(url).hostname === 'internal.example' ? 'internal.example resolves to 10.0.0.1' : null),
};

let store: InMemoryWebhooks;
let clock: FixedClock;
let queue: RecordingQueue;
let secrets: number;
let ids: number;

beforeEach(async () => {
  store = new InMemoryWebhooks();
  clock = new FixedClock('2026-12-02T12:00:00.000Z');
  queue = new RecordingQueue();
  secrets = 0;
  ids = 0;
  await new CreateWebhookEndpoint(store, guard, () => `whsec_${++secrets}`, () => 'ep', clock).execute({
    url: 'https://hooks.example.com/in',
    eventTypes: ['order.placed'],
  });
});

const codeOf = async (promise: Promise<unknown>) => (await domainRejectionOf(promise)).code;

const update = () => new UpdateWebhookEndpoint(store, guard, clock, queue);
const endpoint = () => store.endpoints.get('ep')!;

describe('UpdateWebhookEndpoint', () => {
  it('changes only what it is given, and answers the endpoint', async () => {
    const updated = await update().execute({ endpointId: 'ep', url: 'HTTPS://Other.Example.com:443/x', eventTypes: ['*'] });
    expect(updated).toMatchObject({ id: 'ep', url: 'https://other.example.com/x', eventTypes: ['*'], enabled: true });
    await update().execute({ endpointId: 'ep', eventTypes: ['order.shipped', 'order.shipped'] });
    expect(endpoint()).toMatchObject({ url: 'https://other.example.com/x', eventTypes: ['order.shipped'] });
  });

  it('re-checks a new URL as registration does, and changes nothing when it is refused', async () => {
    expect(await codeOf(update().execute({ endpointId: 'ep', url: 'https://internal.example/hook' }))).toBe('webhook_url_not_allowed');
    expect(await codeOf(update().execute({ endpointId: 'ep', url: 'ftp://hooks.example.com/' }))).toBe('invalid_webhook_url');
    expect(await codeOf(update().execute({ endpointId: 'ep', eventTypes: ['order.lost'] }))).toBe('invalid_event_types');
    expect(endpoint()).toMatchObject({ url: 'https://hooks.example.com/in', eventTypes: ['order.placed'] });
  });

  it('sets a delivery rate of its own, or null for the default again, and wakes the deliveries waiting at the old one', async () => {
    expect(endpoint().deliveryRate).toBeNull();
    expect(await update().execute({ endpointId: 'ep', deliveryRate: 2.5 })).toMatchObject({ deliveryRate: 2.5 });
    expect(queue.woken).toEqual(['ep']);
    expect(await update().execute({ endpointId: 'ep', deliveryRate: null })).toMatchObject({ deliveryRate: null });
    expect(queue.woken).toEqual(['ep', 'ep']);
    // Another change leaves the rate, and the waiting deliveries, alone.
    await update().execute({ endpointId: 'ep', eventTypes: ['*'] });
    expect(queue.woken).toEqual(['ep', 'ep']);
  });

  it('refuses a delivery rate out of range, at registration too, and changes nothing', async () => {
    for (const deliveryRate of [0, -1, 0.001, 1000.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(await codeOf(update().execute({ endpointId: 'ep', deliveryRate }))).toBe('invalid_delivery_rate');
    }
    expect(endpoint().deliveryRate).toBeNull();
    expect(queue.woken).toEqual([]);
    const create = new CreateWebhookEndpoint(store, guard, () => 'whsec_x', () => 'ep2', clock);
    expect(await codeOf(create.execute({ url: 'https://hooks.example.com/2', eventTypes: ['*'], deliveryRate: 0 }))).toBe(
      'invalid_delivery_rate',
    );
    expect(store.endpoints.has('ep2')).toBe(false);
    expect(await create.execute({ url: 'https://hooks.example.com/2', eventTypes: ['*'], deliveryRate: 0.01 })).toMatchObject({
      deliveryRate: 0.01,
    });
  });

  it('answers not found for an unknown or deleted endpoint', async () => {
    expect(await codeOf(update().execute({ endpointId: 'nope', enabled: true }))).toBe('webhook_endpoint_not_found');
    endpoint().deletedAt = clock.now();
    expect(await codeOf(update().execute({ endpointId: 'ep', enabled: true }))).toBe('webhook_endpoint_not_found');
  });

  it('re-enables a disabled endpoint: reason, time and failing streak are cleared', async () => {
    Object.assign(endpoint(), {
      enabled: false,
      disabledReason: 'answered 410 Gone',
      disabledAt: new Date('2026-12-01T00:00:00.000Z'),
      failingSince: new Date('2026-11-20T00:00:00.000Z'),
    });
    const updated = await update().execute({ endpointId: 'ep', enabled: true });
    expect(updated).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
  });

  it('disables through the API, recording the reason and time; a second disable keeps them', async () => {
    expect(await update().execute({ endpointId: 'ep', enabled: false })).toMatchObject({
      enabled: false,
      disabledReason: 'disabled through the API',
      disabledAt: clock.now(),
    });
    clock.advance(HOUR);
    await update().execute({ endpointId: 'ep', enabled: false });
    expect(endpoint().disabledAt).toEqual(new Date('2026-12-02T12:00:00.000Z'));
  });
});

describe('RotateWebhookSecret and signing', () => {
  const deliver = () => new DeliverWebhook(store, sender, [60], clock, 5 * DAY, unlimited(), () => 0.5);
  let sender: ScriptedSender;
  beforeEach(() => {
    sender = new ScriptedSender([ok, ok, ok]);
  });

  it('answers a new secret; deliveries are signed with both secrets for the overlap, then with the new one', async () => {
    const rotated = await new RotateWebhookSecret(store, () => 'whsec_rotated', clock, DAY).execute('ep');
    expect(rotated).toEqual({ id: 'ep', secret: 'whsec_rotated', previousSecretExpiresAt: new Date('2026-12-03T12:00:00.000Z') });
    expect(endpoint().previousSecretExpiresAt).toEqual(rotated.previousSecretExpiresAt);

    store.seedDelivery({ id: 'd1', endpointId: 'ep' });
    await deliver().execute({ deliveryId: 'd1', attempt: 0, canRetry: true });
    clock.advance(DAY - 1);
    store.seedDelivery({ id: 'd2', endpointId: 'ep' });
    await deliver().execute({ deliveryId: 'd2', attempt: 0, canRetry: true });
    clock.advance(1);
    store.seedDelivery({ id: 'd3', endpointId: 'ep' });
    await deliver().execute({ deliveryId: 'd3', attempt: 0, canRetry: true });

    expect(sender.requests.map((request) => request.secrets)).toEqual([
      ['whsec_rotated', 'whsec_1'],
      ['whsec_rotated', 'whsec_1'],
      ['whsec_rotated'],
    ]);
  });

  it('rotating again drops the oldest secret', async () => {
    const rotate = (secret: string) => new RotateWebhookSecret(store, () => secret, clock, DAY).execute('ep');
    await rotate('whsec_second');
    await rotate('whsec_third');
    store.seedDelivery({ id: 'd1', endpointId: 'ep' });
    await deliver().execute({ deliveryId: 'd1', attempt: 0, canRetry: true });
    expect(sender.requests[0]?.secrets).toEqual(['whsec_third', 'whsec_second']);
  });

  it('answers not found for an unknown endpoint', async () => {
    expect(await codeOf(new RotateWebhookSecret(store, () => 'whsec_x', clock).execute('nope'))).toBe('webhook_endpoint_not_found');
  });
});

describe('DeliverWebhook and WEBHOOK_DISABLE_AFTER', () => {
  const attempt = async (response: WebhookResponse) => {
    const id = `d${++ids}`;
    store.seedDelivery({ id, endpointId: 'ep' });
    return new DeliverWebhook(store, new ScriptedSender([response]), [60], clock, 2 * DAY, unlimited(), () => 0.5).execute({
      deliveryId: id,
      attempt: 0,
      canRetry: true,
    });
  };

  it('starts the streak at the first failure, ends it at a success', async () => {
    await attempt(down);
    expect(endpoint().failingSince).toEqual(clock.now());
    clock.advance(DAY);
    await attempt(down);
    expect(endpoint().failingSince).toEqual(new Date('2026-12-02T12:00:00.000Z'));
    await attempt(ok);
    expect(endpoint().failingSince).toBeNull();
  });

  it('disables the endpoint at the first failure once every attempt has failed for the limit', async () => {
    await attempt(down);
    clock.advance(2 * DAY - 1);
    expect(await attempt(down)).not.toHaveProperty('endpointDisabled');
    expect(endpoint().enabled).toBe(true);

    clock.advance(1);
    const result = await attempt(down);
    expect(result).toMatchObject({ outcome: 'retry', endpointDisabled: expect.stringContaining('2d') });
    expect(endpoint()).toMatchObject({
      enabled: false,
      disabledAt: clock.now(),
      disabledReason: 'every attempt failed for 2d or more, since 2026-12-02T12:00:00.000Z (WEBHOOK_DISABLE_AFTER)',
    });
    // Its pending deliveries now fail unsent.
    expect(await attempt(ok)).toMatchObject({ outcome: 'endpoint_disabled' });
  });

  it('a success in the window starts the count again', async () => {
    await attempt(down);
    clock.advance(DAY);
    await attempt(ok);
    clock.advance(DAY);
    await attempt(down);
    clock.advance(DAY);
    await attempt(down);
    expect(endpoint().enabled).toBe(true);
  });

  it('re-enabling starts the count again: the next failure does not disable it at once', async () => {
    await attempt(down);
    clock.advance(3 * DAY);
    await attempt(down);
    expect(endpoint().enabled).toBe(false);
    await update().execute({ endpointId: 'ep', enabled: true });
    await attempt(down);
    expect(endpoint()).toMatchObject({ enabled: true, failingSince: clock.now() });
  });
});

describe('SendTestWebhook', () => {
  const send = () =>
    new SendTestWebhook(store, store, queue, (event) => JSON.stringify(event), () => `id-${++ids}`, clock);

  it('adds a pending webhook.test delivery for that endpoint only and queues it', async () => {
    const sent = await send().execute('ep');
    expect(sent).toEqual({ eventId: 'id-1', deliveryId: 'id-2' });
    expect(store.deliveries.get('id-2')).toMatchObject({ endpointId: 'ep', eventId: 'id-1', eventType: 'webhook.test', status: 'pending' });
    expect(JSON.parse(store.deliveries.get('id-2')!.body)).toEqual({
      id: 'id-1',
      type: 'webhook.test',
      occurredAt: '2026-12-02T12:00:00.000Z',
      payload: { endpointId: 'ep' },
    });
    expect(queue.enqueued).toEqual(['id-2']);
  });

  it('refuses an unknown endpoint and a disabled one', async () => {
    expect(await codeOf(send().execute('nope'))).toBe('webhook_endpoint_not_found');
    endpoint().enabled = false;
    expect(await codeOf(send().execute('ep'))).toBe('webhook_endpoint_disabled');
    expect(queue.enqueued).toEqual([]);
  });
});

describe('ReplayWebhookDeliveries', () => {
  const replay = () => new ReplayWebhookDeliveries(store, store, queue, clock, 60_000);
  const since = new Date('2026-12-01T00:00:00.000Z');

  it('replays the deliveries in the status since the moment, once: a second call queues nothing', async () => {
    store.seedDelivery({ id: 'old', endpointId: 'ep', status: 'failed', createdAt: new Date('2026-11-30T23:59:59.999Z') });
    store.seedDelivery({ id: 'f1', endpointId: 'ep', status: 'failed', createdAt: since });
    store.seedDelivery({ id: 'f2', endpointId: 'ep', status: 'failed', createdAt: new Date('2026-12-02T00:00:00.000Z') });
    store.seedDelivery({ id: 'ok', endpointId: 'ep', status: 'delivered', createdAt: since });
    store.seedDelivery({ id: 'other', endpointId: 'elsewhere', status: 'failed', createdAt: since });

    expect(await replay().execute({ endpointId: 'ep', status: 'failed', since })).toEqual({ queued: 2 });
    expect(queue.enqueued).toEqual(['f1', 'f2']);
    expect(store.deliveries.get('f1')).toMatchObject({ status: 'pending', nextAttemptAt: clock.now() });
    expect(store.deliveries.get('old')?.status).toBe('failed');

    expect(await replay().execute({ endpointId: 'ep', status: 'failed', since })).toEqual({ queued: 0 });
    expect(queue.enqueued).toEqual(['f1', 'f2']);
  });

  it('leaves out a delivery an attempt holds, as the single replay does', async () => {
    store.seedDelivery({ id: 'held', endpointId: 'ep', status: 'failed', createdAt: since, claim: { attemptId: 'a', startedAt: clock.now() } });
    store.seedDelivery({ id: 'stale', endpointId: 'ep', status: 'failed', createdAt: since, claim: { attemptId: 'b', startedAt: new Date(0) } });
    expect(await replay().execute({ endpointId: 'ep', status: 'failed', since })).toEqual({ queued: 1 });
    expect(queue.enqueued).toEqual(['stale']);
  });

  it('refuses an unknown endpoint and a disabled one', async () => {
    store.seedDelivery({ id: 'f1', endpointId: 'ep', status: 'failed', createdAt: since });
    expect(await codeOf(replay().execute({ endpointId: 'nope', status: 'failed', since }))).toBe('webhook_endpoint_not_found');
    endpoint().enabled = false;
    expect(await codeOf(replay().execute({ endpointId: 'ep', status: 'failed', since }))).toBe('webhook_endpoint_disabled');
    expect(store.deliveries.get('f1')?.status).toBe('failed');
  });
});
