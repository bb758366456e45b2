import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDeliveryView } from '../../src/application/webhooks/ports.js';
import { createInfrastructure, type Infrastructure } from '../../src/main/infrastructure.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import type { WebhookManagement } from '../../src/application/webhooks/management.js';
import { createWebhookManagement, startWebhooks } from '../../src/main/roles/webhooks.js';
import { WEBHOOK_JOB_NAME, webhookJobOptions } from '../../queues/webhooks.js';
import { buildWebhookBody } from '../../src/infrastructure/webhooks/payload.js';
import { generateWebhookSecret } from '../../src/infrastructure/webhooks/signing.js';
import { infrastructureOnFreshDatabase } from '../support/infrastructure.js';
import { testConfig, testSecretCipher } from '../support/config.js';
import { newId } from '../support/orm.js';
import { newEndpointView } from '../support/webhook-endpoints.js';

// The webhooks role end to end on real PostgreSQL, Redis and HTTP receivers on 127.0.0.1:
// endpoint rows written by the management use cases, delivery rows and jobs written the way
// the relay writes them, and the real worker sending them.

// Three retries: immediately, immediately, then after ~1 s (±20 %), which leaves a test time
// to change its receiver between the third and the fourth attempt.
const SCHEDULE = '0,0,1';
const TIMEOUT_MS = 400;

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Respond = (res: ServerResponse, request: Received, count: number) => void;

/** An HTTP receiver that can stop listening and listen again on the same port. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(private readonly respond: Respond) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(request);
        this.respond(res, request, this.received.length);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops accepting connections at once (connection refused from then on). */
  stopListening(): void {
    this.server?.close();
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let infra: Infrastructure;
let webhooks: RunningWorker;
let management: WebhookManagement;
const receivers: Receiver[] = [];

beforeAll(async () => {
  infra = await infrastructureOnFreshDatabase({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: SCHEDULE, WORKER_CONCURRENCY: '4' });
  webhooks = startWebhooks(infra, { senderOptions: { timeoutMs: TIMEOUT_MS } });
  management = createWebhookManagement(infra);
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

afterAll(async () => {
  await webhooks.stop(5000);
  await infra.close();
});

const sql = <T = Record<string, unknown>>(target: Infrastructure, query: string, params: unknown[] = []) =>
  target.orm.em.fork().getConnection().execute<T[]>(query, params);

async function receiver(respond: Respond): Promise<Receiver> {
  const started = await new Receiver(respond).listen();
  receivers.push(started);
  return started;
}

/** Inserts a pending delivery and enqueues it, as the relay does. */
async function deliver(target: Infrastructure, endpointId: string, type = 'order.placed'): Promise<{ id: string; body: string }> {
  const id = newId();
  const eventId = newId();
  const body = buildWebhookBody({ id: eventId, type, occurredAt: new Date(), payload: { orderId: newId() } });
  await sql(
    target,
    `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, next_attempt_at, created_at)
     values (?, ?, ?, ?, ?, 'pending', 0, now(), now())`,
    [id, endpointId, eventId, type, body],
  );
  await target.queues.webhooks.add(
    WEBHOOK_JOB_NAME,
    { deliveryId: id },
    { ...webhookJobOptions(target.config.webhookRetrySchedule), jobId: id },
  );
  return { id, body };
}

async function delivery(endpointId: string, deliveryId: string): Promise<WebhookDeliveryView> {
  const found = (await management.listDeliveries.execute({ endpointId })).find((d) => d.id === deliveryId);
  if (!found) throw new Error(`delivery ${deliveryId} not listed`);
  return found;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const settled = (endpointId: string, deliveryId: string) =>
  until(() => delivery(endpointId, deliveryId), (d) => d.status !== 'pending');

describe('webhooks role', () => {
  it('delivers a signed body that verifies under the Standard Webhooks scheme', async () => {
    const hook = await receiver((res) => res.writeHead(200).end('ok'));
    const endpoint = await management.createEndpoint.execute({ url: `${hook.url}/in`, eventTypes: ['order.placed'] });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const { id, body } = await deliver(infra, endpoint.id);

    const done = await settled(endpoint.id, id);
    expect(done).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(done.deliveredAt).toBeInstanceOf(Date);
    expect(done.attemptLog).toEqual([{ attemptedAt: expect.any(Date), statusCode: 200, durationMs: expect.any(Number), error: null }]);
    const [request] = hook.received;
    expect(request?.url).toBe('/in');
    expect(request?.body).toBe(body);
    expect(request?.headers['webhook-id']).toBe(id);
    expect(new Webhook(endpoint.secret).verify(request?.body ?? '', request?.headers as Record<string, string>)).toEqual(
      JSON.parse(body),
    );
  });

  it('signs with the rotated secret at once, though the worker opened the old one a moment before (its cache is keyed by the stored value)', async () => {
    const hook = await receiver((res) => res.writeHead(204).end());
    const endpoint = await management.createEndpoint.execute({ url: hook.url, eventTypes: ['*'] });
    const verifies = (secret: string, index: number) => {
      const request = hook.received[index];
      try {
        new Webhook(secret).verify(request?.body ?? '', request?.headers as Record<string, string>);
        return true;
      } catch {
        return false;
      }
    };
    const signatures = (index: number) => String(hook.received[index]?.headers['webhook-signature']).split(' ').length;
    const sent = async (n: number) => {
      const { id } = await deliver(infra, endpoint.id);
      expect(await settled(endpoint.id, id)).toMatchObject({ status: 'delivered' });
      expect(hook.received).toHaveLength(n);
    };

    await sent(1);
    expect([verifies(endpoint.secret, 0), signatures(0)]).toEqual([true, 1]);
    const second = await management.rotateSecret.execute(endpoint.id);
    await sent(2);
    // The overlap: the new secret and the previous one (now stored in previous_secret).
    expect([verifies(second.secret, 1), verifies(endpoint.secret, 1), signatures(1)]).toEqual([true, true, 2]);
    const third = await management.rotateSecret.execute(endpoint.id);
    await sent(3);
    expect([verifies(third.secret, 2), verifies(second.secret, 2), verifies(endpoint.secret, 2), signatures(2)]).toEqual([true, true, false, 2]);
  });

  it('retries through a 500, a hang and a refused connection, and delivers on the fourth attempt', async () => {
    const hook = await receiver((res, _request, count) => {
      if (count === 1) res.writeHead(500).end('database is down');
      // The second attempt gets no answer: the sender times out. Stop listening meanwhile, so
      // the third attempt (due at once) finds the port closed.
      if (count === 2) hook.stopListening();
      if (count >= 3) res.writeHead(204).end();
    });
    const endpoint = await management.createEndpoint.execute({ url: hook.url, eventTypes: ['*'] });
    const { id } = await deliver(infra, endpoint.id);

    await until(() => delivery(endpoint.id, id), (d) => d.attempts >= 3);
    // The fourth attempt is ~1 s away: listen again on the same port.
    await hook.close();
    await hook.listen();

    const done = await settled(endpoint.id, id);
    expect(done.status).toBe('delivered');
    expect(done.attempts).toBe(4);
    expect(done.attemptLog.map((a) => [a.statusCode, a.error])).toEqual([
      [500, 'HTTP 500: database is down'],
      [null, `timed out after ${TIMEOUT_MS} ms`],
      [null, expect.stringContaining('ECONNREFUSED')],
      [204, null],
    ]);
    expect(done.attemptLog[1]?.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    // Every attempt carried the same webhook-id, so the receiver can deduplicate.
    expect(new Set(hook.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([id]));
    expect(hook.received).toHaveLength(3);
  });

  it('disables the endpoint on 410 Gone and sends it nothing more', async () => {
    const hook = await receiver((res) => res.writeHead(410).end());
    const endpoint = await management.createEndpoint.execute({ url: hook.url, eventTypes: ['*'] });
    const first = await deliver(infra, endpoint.id);
    expect(await settled(endpoint.id, first.id)).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 });
    expect(await management.getEndpoint.execute(endpoint.id)).toMatchObject({
      enabled: false,
      disabledReason: expect.stringContaining('410'),
    });

    const second = await deliver(infra, endpoint.id);
    expect(await settled(endpoint.id, second.id)).toMatchObject({
      status: 'failed',
      attempts: 0,
      lastError: 'endpoint disabled',
      attemptLog: [],
    });
    expect(hook.received).toHaveLength(1);
  });

  it('does not follow a 302: every attempt is a failure and the target is never reached', async () => {
    const hook = await receiver((res, request) => {
      if (request.url === '/moved') res.writeHead(200).end();
      else res.writeHead(302, { location: '/moved' }).end();
    });
    const endpoint = await management.createEndpoint.execute({ url: `${hook.url}/hook`, eventTypes: ['*'] });
    const { id } = await deliver(infra, endpoint.id);
    const done = await settled(endpoint.id, id);
    expect(done).toMatchObject({ status: 'failed', attempts: 4, lastStatusCode: 302 });
    expect(done.attemptLog.every((a) => a.statusCode === 302 && a.error?.startsWith('redirect 302 not followed'))).toBe(true);
    expect(hook.received.map((r) => r.url)).toEqual(['/hook', '/hook', '/hook', '/hook']);
  });

  it('fails the delivery when the schedule is exhausted, then a replay delivers it', async () => {
    let healthy = false;
    const hook = await receiver((res) => (healthy ? res.writeHead(200).end() : res.writeHead(503).end('maintenance')));
    const endpoint = await management.createEndpoint.execute({ url: hook.url, eventTypes: ['order.placed'] });
    const { id } = await deliver(infra, endpoint.id);
    expect(await settled(endpoint.id, id)).toMatchObject({ status: 'failed', attempts: 4, lastStatusCode: 503, nextAttemptAt: null });
    expect(await management.listDeliveries.execute({ endpointId: endpoint.id, status: 'failed' })).toHaveLength(1);
    expect(await management.listDeliveries.execute({ endpointId: endpoint.id, status: 'delivered' })).toHaveLength(0);

    healthy = true;
    await management.replayDelivery.execute(id);
    const done = await settled(endpoint.id, id);
    expect(done).toMatchObject({ status: 'delivered', attempts: 5, lastStatusCode: 200 });
    expect(done.attemptLog.map((a) => a.statusCode)).toEqual([503, 503, 503, 503, 200]);
    expect(hook.received.map((r) => r.headers['webhook-id'])).toEqual([id, id, id, id, id]);
  });

  it('goes on with the schedule where a lost job left it (a job restored by the sweeper)', async () => {
    const hook = await receiver((res) => res.writeHead(503).end('still down'));
    const endpoint = await management.createEndpoint.execute({ url: hook.url, eventTypes: ['order.placed'] });
    const id = newId();
    const eventId = newId();
    const body = buildWebhookBody({ id: eventId, type: 'order.placed', occurredAt: new Date(), payload: {} });
    // Three of the four attempts were made before Redis lost the job.
    await sql(
      infra,
      `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, next_attempt_at, created_at)
       values (?, ?, ?, 'order.placed', ?, 'pending', 3, now(), now())`,
      [id, endpoint.id, eventId, body],
    );
    await infra.queues.webhooks.add(
      WEBHOOK_JOB_NAME,
      { deliveryId: id, attemptsBefore: 3 },
      { ...webhookJobOptions(infra.config.webhookRetrySchedule), jobId: id },
    );
    // The restored job makes the last attempt of the schedule, not a fresh schedule of four.
    expect(await settled(endpoint.id, id)).toMatchObject({ status: 'failed', attempts: 4, nextAttemptAt: null });
    expect(hook.received).toHaveLength(1);
  });

  it('sends nothing for a duplicate job of a delivered delivery', async () => {
    const hook = await receiver((res) => res.writeHead(200).end());
    const endpoint = await management.createEndpoint.execute({ url: hook.url, eventTypes: ['*'] });
    const { id } = await deliver(infra, endpoint.id);
    await settled(endpoint.id, id);
    // A second job for the same row under another job id (a sweeper re-enqueue, say).
    const duplicate = await infra.queues.webhooks.add(WEBHOOK_JOB_NAME, { deliveryId: id }, { jobId: `again-${id}` });
    const state = await until(() => duplicate.getState(), (s) => s === 'completed' || s === 'failed');
    expect(state).toBe('completed');
    expect((await infra.queues.webhooks.getJob(`again-${id}`))?.returnvalue).toEqual({ outcome: 'skipped' });
    expect(hook.received).toHaveLength(1);
    expect(await delivery(endpoint.id, id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});

describe('webhook endpoint management', () => {
  it('creates, lists, gets and soft-deletes endpoints without ever showing the secret again', async () => {
    const created = await management.createEndpoint.execute({
      url: 'http://127.0.0.1:9/a',
      eventTypes: ['user.registered', 'order.cancelled'],
    });
    expect(created).toMatchObject({ url: 'http://127.0.0.1:9/a', eventTypes: ['user.registered', 'order.cancelled'] });
    const [stored] = await sql<{ secret: string }>(infra, 'select secret from webhook_endpoints where id = ?', [created.id]);
    expect(stored?.secret).not.toContain(created.secret.slice('whsec_'.length));
    expect(testSecretCipher().open(String(stored?.secret), { endpointId: created.id, column: 'secret' })).toBe(created.secret);

    const listed = await management.listEndpoints.execute();
    expect(listed).toContainEqual(
      newEndpointView({ id: created.id, url: created.url, eventTypes: created.eventTypes, createdAt: created.createdAt }),
    );
    expect(JSON.stringify(listed)).not.toContain('whsec_');
    expect(JSON.stringify(await management.getEndpoint.execute(created.id))).not.toContain('whsec_');

    await management.deleteEndpoint.execute(created.id);
    expect((await management.listEndpoints.execute()).map((e) => e.id)).not.toContain(created.id);
    await expect(management.getEndpoint.execute(created.id)).rejects.toMatchObject({ code: 'webhook_endpoint_not_found' });
    await expect(management.getEndpoint.execute('not-a-uuid')).rejects.toMatchObject({ code: 'webhook_endpoint_not_found' });
    const [row] = await sql<{ deleted_at: unknown }>(infra, 'select deleted_at from webhook_endpoints where id = ?', [created.id]);
    expect(row?.deleted_at).not.toBeNull();
  });
});

describe('webhooks role without WEBHOOK_ALLOW_PRIVATE', () => {
  let strict: Infrastructure;
  let strictWorker: RunningWorker;

  beforeAll(async () => {
    strict = await createInfrastructure(testConfig(infra.config.databaseUrl, { WEBHOOK_RETRY_SCHEDULE: '0' }), 'test-strict');
    strictWorker = startWebhooks(strict, { senderOptions: { timeoutMs: TIMEOUT_MS } });
  });

  afterAll(async () => {
    await strictWorker.stop(5000);
    await strict.close();
  });

  it('refuses a loopback URL at registration', async () => {
    const strictManagement = createWebhookManagement(strict);
    await expect(
      strictManagement.createEndpoint.execute({ url: 'http://127.0.0.1:8080/hook', eventTypes: ['*'] }),
    ).rejects.toMatchObject({ code: 'webhook_url_not_allowed' });
    await expect(
      strictManagement.createEndpoint.execute({ url: 'http://localhost:8080/hook', eventTypes: ['*'] }),
    ).rejects.toMatchObject({ code: 'webhook_url_not_allowed' });
  });

  it('refuses at send time: a delivery to 127.0.0.1 fails without a request reaching the receiver', async () => {
    const hook = await receiver((res) => res.writeHead(200).end());
    // Registered while private targets were allowed (or rebound since): only the send-time check stands.
    const endpointId = newId();
    await sql(
      strict,
      `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at) values (?, ?, '["*"]'::jsonb, ?, true, now())`,
      [endpointId, hook.url, generateWebhookSecret()],
    );
    const { id } = await deliver(strict, endpointId);
    const done = await settled(endpointId, id);
    expect(done).toMatchObject({ status: 'failed', attempts: 2, lastStatusCode: null });
    expect(done.attemptLog.every((a) => a.error?.includes('refused by the SSRF guard'))).toBe(true);
    expect(hook.received).toHaveLength(0);
  });
});
