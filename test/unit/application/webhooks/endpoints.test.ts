import { beforeEach, describe, expect, it } from 'vitest';
import { CreateWebhookEndpoint } from '../../../../src/application/webhooks/create-webhook-endpoint.js';
import { DeleteWebhookEndpoint } from '../../../../src/application/webhooks/delete-webhook-endpoint.js';
import { GetWebhookEndpoint } from '../../../../src/application/webhooks/get-webhook-endpoint.js';
import { ListWebhookDeliveries } from '../../../../src/application/webhooks/list-webhook-deliveries.js';
import { ListWebhookEndpoints } from '../../../../src/application/webhooks/list-webhook-endpoints.js';
import { ReplayWebhookDelivery } from '../../../../src/application/webhooks/replay-webhook-delivery.js';
import type { WebhookUrlGuard } from '../../../../src/application/webhooks/ports.js';
import { newEndpointView } from '../../../support/webhook-endpoints.js';
import { InMemoryWebhooks, RecordingQueue, fixedClock } from './fakes.js';

let store: InMemoryWebhooks;
let ids = 0;
const guard: WebhookUrlGuard = {
  refusalFor: async (url) => (new URL(url).hostname === 'internal.example' ? 'internal.example resolves to 10.0.0.1' : null),
};
const create = () => new CreateWebhookEndpoint(store, guard, () => 'whsec_test', () => `id-${++ids}`, fixedClock());

beforeEach(() => {
  store = new InMemoryWebhooks();
  ids = 0;
});

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return null;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('CreateWebhookEndpoint', () => {
  it('stores the endpoint and returns its secret once', async () => {
    const created = await create().execute({ url: 'https://Hooks.Example.com:443/in', eventTypes: ['order.placed', 'order.placed', 'order.shipped'] });
    expect(created).toEqual({
      id: 'id-1',
      url: 'https://hooks.example.com/in',
      eventTypes: ['order.placed', 'order.shipped'],
      secret: 'whsec_test',
      deliveryRate: null,
      createdAt: new Date('2026-03-01T12:00:00.000Z'),
    });
    expect(await new ListWebhookEndpoints(store).execute()).toEqual([
      newEndpointView({ id: 'id-1', url: 'https://hooks.example.com/in', eventTypes: ['order.placed', 'order.shipped'], createdAt: created.createdAt }),
    ]);
    expect(JSON.stringify(await new GetWebhookEndpoint(store).execute('id-1'))).not.toContain('whsec_');
  });

  it.each([
    ['ftp://hooks.example.com/', ['*'], 'invalid_webhook_url'],
    ['/relative', ['*'], 'invalid_webhook_url'],
    ['https://a:b@hooks.example.com/', ['*'], 'invalid_webhook_url'],
    [`https://hooks.example.com/${'x'.repeat(2048)}`, ['*'], 'invalid_webhook_url'],
    ['https://internal.example/', ['*'], 'webhook_url_not_allowed'],
    ['https://hooks.example.com/', [], 'invalid_event_types'],
    ['https://hooks.example.com/', ['order.exploded'], 'invalid_event_types'],
    ['https://hooks.example.com/', ['*', 'order.placed'], 'invalid_event_types'],
  ])('refuses %s %j with %s', async (url, eventTypes, code) => {
    expect(await codeOf(create().execute({ url, eventTypes }))).toBe(code);
    expect(store.endpoints.size).toBe(0);
  });
});

describe('endpoint reads and deletion', () => {
  it('deletes softly: the endpoint disappears from reads, a second delete is not found', async () => {
    await create().execute({ url: 'https://hooks.example.com/', eventTypes: ['*'] });
    await new DeleteWebhookEndpoint(store, fixedClock()).execute('id-1');
    expect(store.endpoints.get('id-1')?.deletedAt).toEqual(new Date('2026-03-01T12:00:00.000Z'));
    expect(await new ListWebhookEndpoints(store).execute()).toEqual([]);
    expect(await codeOf(new GetWebhookEndpoint(store).execute('id-1'))).toBe('webhook_endpoint_not_found');
    expect(await codeOf(new DeleteWebhookEndpoint(store, fixedClock()).execute('id-1'))).toBe('webhook_endpoint_not_found');
    expect(await codeOf(new ListWebhookDeliveries(store).execute({ endpointId: 'id-1' }))).toBe('webhook_endpoint_not_found');
  });

  it('lists deliveries with a status filter', async () => {
    await create().execute({ url: 'https://hooks.example.com/', eventTypes: ['*'] });
    store.seedDelivery({ id: 'd1', endpointId: 'id-1', status: 'failed' });
    store.seedDelivery({ id: 'd2', endpointId: 'id-1', status: 'delivered' });
    const list = new ListWebhookDeliveries(store);
    expect((await list.execute({ endpointId: 'id-1' })).map((d) => d.id)).toEqual(['d1', 'd2']);
    expect((await list.execute({ endpointId: 'id-1', status: 'failed' })).map((d) => d.id)).toEqual(['d1']);
  });
});

describe('ReplayWebhookDelivery', () => {
  it('sets the delivery pending, due now, and enqueues it again', async () => {
    await create().execute({ url: 'https://hooks.example.com/', eventTypes: ['*'] });
    store.seedDelivery({ id: 'd1', endpointId: 'id-1', status: 'failed', attempts: 8 });
    const queue = new RecordingQueue();
    await new ReplayWebhookDelivery(store, store, queue, fixedClock()).execute('d1');
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'pending', attempts: 8, nextAttemptAt: new Date('2026-03-01T12:00:00.000Z') });
    expect(queue.enqueued).toEqual(['d1']);
  });

  it('refuses a delivery whose attempt is running right now, and changes nothing', async () => {
    await create().execute({ url: 'https://hooks.example.com/', eventTypes: ['*'] });
    store.seedDelivery({ id: 'd1', endpointId: 'id-1', status: 'failed', attempts: 8 });
    const queue = new RecordingQueue();
    queue.inFlight.add('d1');
    const replay = new ReplayWebhookDelivery(store, store, queue, fixedClock());
    expect(await codeOf(replay.execute('d1'))).toBe('webhook_delivery_in_progress');
    expect(store.deliveries.get('d1')?.status).toBe('failed');
    expect(queue.enqueued).toEqual([]);
  });

  it('refuses a delivery that an attempt has claimed, even before the queue sees its job running', async () => {
    await create().execute({ url: 'https://hooks.example.com/', eventTypes: ['*'] });
    store.seedDelivery({ id: 'd1', endpointId: 'id-1', status: 'pending', attempts: 7 });
    const claim = await store.claimForSending('d1', new Date('2026-03-01T11:59:50.000Z'));
    const queue = new RecordingQueue();
    const replay = new ReplayWebhookDelivery(store, store, queue, fixedClock(), 60_000);
    expect(await codeOf(replay.execute('d1'))).toBe('webhook_delivery_in_progress');
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'pending', nextAttemptAt: null });
    expect(queue.enqueued).toEqual([]);

    // The attempt settles the row and releases its claim: now the replay goes through.
    const attempt = { attemptedAt: new Date(), statusCode: 500, durationMs: 3, error: 'HTTP 500' };
    await store.recordAttempt({
      deliveryId: 'd1',
      attemptId: claim!.attemptId!,
      attempt,
      status: 'failed',
      nextAttemptAt: null,
      deliveredAt: null,
      endpoint: { id: 'id-1', succeeded: false },
    });
    await replay.execute('d1');
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'pending', attempts: 8 });
    expect(queue.enqueued).toEqual(['d1']);
  });

  it('does not wait for a claim older than the lease: its worker died mid-attempt', async () => {
    await create().execute({ url: 'https://hooks.example.com/', eventTypes: ['*'] });
    store.seedDelivery({ id: 'd1', endpointId: 'id-1', status: 'pending', attempts: 2 });
    await store.claimForSending('d1', new Date('2026-03-01T11:58:59.999Z'));
    const queue = new RecordingQueue();
    await new ReplayWebhookDelivery(store, store, queue, fixedClock(), 60_000).execute('d1');
    expect(store.deliveries.get('d1')).toMatchObject({ status: 'pending', claim: null });
    expect(queue.enqueued).toEqual(['d1']);
  });

  it('refuses unknown deliveries, deleted endpoints and disabled endpoints', async () => {
    await create().execute({ url: 'https://hooks.example.com/', eventTypes: ['*'] });
    store.seedDelivery({ id: 'd1', endpointId: 'id-1', status: 'failed' });
    const queue = new RecordingQueue();
    const replay = new ReplayWebhookDelivery(store, store, queue, fixedClock());
    expect(await codeOf(replay.execute('nope'))).toBe('webhook_delivery_not_found');
    store.endpoints.get('id-1')!.enabled = false;
    expect(await codeOf(replay.execute('d1'))).toBe('webhook_endpoint_disabled');
    store.endpoints.get('id-1')!.deletedAt = new Date();
    expect(await codeOf(replay.execute('d1'))).toBe('webhook_delivery_not_found');
    expect(queue.enqueued).toEqual([]);
    expect(store.deliveries.get('d1')?.status).toBe('failed');
  });
});
