// End to end, the whole way round (issue 4): web, worker, relay, mailer and webhooks run as the
// separate processes of the Procfile; the test is the client (HTTP), the mail server (SMTP) and
// the webhook receivers (HTTP on 127.0.0.1). An order placed over HTTP must come out as a signed
// `order.placed` webhook and as emails whose Message-IDs are the ones recorded in PostgreSQL.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { HttpReceiver, startSmtpCapture, type ReceivedRequest, type SmtpCapture } from '../support/receivers.js';
import { ApiClient, type Accepted } from '../support/api-client.js';
import { stackEnv, systemOnFreshDatabase } from '../support/processes.js';

// Retries 1 s, 1 s and 2 s (± 20 %) after the first attempt: 4 attempts in all. The last gap is
// longer so the test can reopen its receiver in between without racing the retry.
const RETRY_SCHEDULE = '1,1,2';
// The webhooks worker gives an attempt 10 s (UndiciWebhookSender's default; the role does not
// make it configurable), so a receiver that hangs costs the test that long.
const SENDER_TIMEOUT_MS = 10_000;

const system = systemOnFreshDatabase();
const { processes } = system;
let smtp: SmtpCapture;
const receivers: HttpReceiver[] = [];
let api: ApiClient;

const USER = { email: 'ada@example.com', name: 'Ada Lovelace' };
let userId: string;
let productId: string;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  const env = stackEnv(system.url, {
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Conveyor Shop <shop@conveyor.test>',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE,
  });
  const [web] = await Promise.all([
    processes.startWeb(env),
    processes.startWorker('worker', env),
    processes.startWorker('relay', env),
    processes.startWorker('mailer', env),
    processes.startWorker('webhooks', env),
  ]);
  api = new ApiClient(web.baseUrl);
});

// Before the receivers close, the processes that talk to them stop (the fixture's afterAll runs after this one).
afterAll(async () => {
  await processes.stopAll();
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await smtp?.close();
});

async function newReceiver(): Promise<HttpReceiver> {
  const receiver = await HttpReceiver.start();
  receivers.push(receiver);
  return receiver;
}

interface Endpoint {
  id: string;
  url: string;
  eventTypes: string[];
  secret: string;
}

async function registerEndpoint(receiver: HttpReceiver, eventTypes: string[]): Promise<Endpoint> {
  const response = await api.post<Endpoint>('/v1/webhook-endpoints', { url: `${receiver.url}/hooks`, eventTypes });
  expect(response.status, `${JSON.stringify(response.body)}\n${processes.output()}`).toBe(201);
  expect(response.body.secret).toMatch(/^whsec_/);
  return response.body;
}

async function succeeded(path: string, body: unknown): Promise<Accepted> {
  const response = await api.post<Accepted>(path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  const outcome = await api.settled(response.body.commandId);
  expect(outcome.status, `${JSON.stringify(outcome)}\n${processes.output()}`).toBe('succeeded');
  return response.body;
}

const placeOrder = (quantity: number) => succeeded('/v1/orders', { userId, items: [{ productId, quantity }] });

/** The headers Standard Webhooks verification reads, from a recorded request. */
function signatureHeaders(request: ReceivedRequest): Record<string, string> {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
  };
  return {
    'webhook-id': header('webhook-id'),
    'webhook-timestamp': header('webhook-timestamp'),
    'webhook-signature': header('webhook-signature'),
  };
}

/** The requests a receiver got for one order. */
const requestsFor = (receiver: HttpReceiver, orderId: string | undefined) =>
  receiver.requests.filter((request) => request.body.includes(`"orderId":"${orderId}"`));

async function deliveries(endpointId: string) {
  const response = await api.get(`/v1/webhook-endpoints/${endpointId}/deliveries`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.items as {
    id: string;
    eventType: string;
    status: string;
    attempts: number;
    lastStatusCode: number | null;
    lastError: string | null;
    deliveredAt: string | null;
    attemptLog: { statusCode: number | null; error: string | null }[];
  }[];
}

describe('events of an order placed over HTTP', () => {
  let main: HttpReceiver;
  let mainEndpoint: Endpoint;

  it('reach a webhook receiver signed (Standard Webhooks) and the SMTP server with the recorded Message-IDs', async () => {
    main = await newReceiver();
    mainEndpoint = await registerEndpoint(main, ['order.placed']);
    expect(mainEndpoint.eventTypes).toEqual(['order.placed']);

    const user = await succeeded('/v1/users', USER);
    const product = await succeeded('/v1/products', { sku: 'LAMP-1', name: 'Desk lamp', price: { amount: '24.95', currency: 'EUR' }, stock: 50 });
    userId = user.userId ?? '';
    productId = product.productId ?? '';
    const order = await placeOrder(2);

    // The webhook: one POST, whose signature verifies with the secret given at registration.
    const [request] = await waitFor(
      async () => requestsFor(main, order.orderId).length > 0 && requestsFor(main, order.orderId),
      20_000,
      `order.placed at the receiver\n${processes.output()}`,
    );
    if (!request) throw new Error('unreachable');
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/hooks');
    expect(request.headers['content-type']).toBe('application/json');
    const headers = signatureHeaders(request);
    const payload = new Webhook(mainEndpoint.secret).verify(request.body, headers);
    expect(payload).toMatchObject({
      type: 'order.placed',
      data: {
        orderId: order.orderId,
        userId,
        status: 'pending',
        items: [{ productId, sku: 'LAMP-1', quantity: 2, unitPrice: { amount: '24.95', currency: 'EUR' } }],
        total: { amount: '49.90', currency: 'EUR' },
      },
    });
    // A signature that verifies anything would prove nothing: a changed body or another secret fails.
    expect(() => new Webhook(mainEndpoint.secret).verify(request.body.replace('49.90', '0.01'), headers)).toThrow();
    const otherSecret = `whsec_${Buffer.from('a different secret of 32 bytes!!').toString('base64')}`;
    expect(() => new Webhook(otherSecret).verify(request.body, headers)).toThrow();

    // Only the subscribed type is sent (not user.registered nor product.added), and the
    // webhook-id is the delivery id the API lists.
    const [delivery, ...others] = await waitFor(
      async () => {
        const items = await deliveries(mainEndpoint.id);
        return items.length > 0 && items.every((item) => item.status === 'delivered') && items;
      },
      10_000,
      'the delivery to be recorded delivered',
    );
    expect(others).toEqual([]);
    expect(delivery).toMatchObject({ id: headers['webhook-id'], eventType: 'order.placed', status: 'delivered', attempts: 1, lastStatusCode: 204 });
    expect(main.requests.map((r) => JSON.parse(r.body).type)).toEqual(['order.placed']);

    // The emails: a welcome and an order confirmation to the user, each with the Message-ID of its row.
    const mails = await waitFor(
      async () => smtp.to(USER.email).length >= 2 && smtp.to(USER.email),
      20_000,
      `two emails to ${USER.email}\n${processes.output()}`,
    );
    const { rows } = await system.db.query<{ template: string; message_id: string; status: string; attempts: number }>(
      'select template, message_id, status, attempts from email_messages where to_address = $1 order by template',
      [USER.email],
    );
    expect(rows.map((row) => row.template)).toEqual(['order_confirmation', 'welcome']);
    const byMessageId = new Map(mails.map((mail) => [mail.headers.get('message-id'), mail]));
    expect(byMessageId.size).toBe(2);
    const welcome = byMessageId.get(rows.find((row) => row.template === 'welcome')?.message_id);
    const confirmation = byMessageId.get(rows.find((row) => row.template === 'order_confirmation')?.message_id);
    expect(welcome?.headers.get('subject')).toBe(`Welcome to conveyor, ${USER.name}`);
    expect(confirmation?.headers.get('subject')).toMatch(/^Order [0-9A-F]{8} received: 49\.90 EUR$/);
    expect(confirmation?.body).toContain(order.orderId);
    for (const mail of [welcome, confirmation]) {
      expect(mail?.headers.get('to')).toBe(USER.email);
      expect(mail?.headers.get('from')).toBe('Conveyor Shop <shop@conveyor.test>');
      expect(mail?.mailFrom).toBe('shop@conveyor.test');
    }
    await waitFor(
      async () => (await system.db.query(`select 1 from email_messages where to_address = $1 and status <> 'sent'`, [USER.email])).rowCount === 0,
      5_000,
      'the email rows to be recorded sent',
    );
  }, 60_000);

  it('are retried past a 500, a timeout and a refused connection, and delivered on the 4th attempt', async () => {
    const flaky = await newReceiver();
    const endpoint = await registerEndpoint(flaky, ['order.placed']);
    // 1st attempt: 500. 2nd: no answer (the sender gives up after its timeout); meanwhile the
    // receiver stops listening, so the 3rd is refused. It listens again before the 4th: 200.
    flaky.answer = (_request, index) => {
      if (index === 0) return { status: 500, body: 'database on fire' };
      if (index === 1) {
        flaky.stopListening();
        return 'hang';
      }
      return { status: 200 };
    };

    const order = await placeOrder(1);
    const started = Date.now();
    const deliveryOf = async () => (await deliveries(endpoint.id)).find((item) => item.eventType === 'order.placed');
    await waitFor(
      async () => ((await deliveryOf())?.attempts ?? 0) >= 3,
      SENDER_TIMEOUT_MS + 15_000,
      `3 failed attempts\n${processes.output()}`,
    );
    expect(flaky.listening).toBe(false);
    await flaky.listen();

    const delivery = await waitFor(
      async () => {
        const found = await deliveryOf();
        return found?.status !== 'pending' && found;
      },
      15_000,
      `the 4th attempt\n${processes.output()}`,
    );
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 200, lastError: null });
    expect(delivery.deliveredAt).not.toBeNull();
    expect(delivery.attemptLog.map((attempt) => attempt.statusCode)).toEqual([500, null, null, 200]);
    const [serverError, timeout, refused, ok] = delivery.attemptLog;
    expect(serverError?.error).toBe('HTTP 500: database on fire');
    expect(timeout?.error).toBe(`timed out after ${SENDER_TIMEOUT_MS} ms`);
    expect(refused?.error).toMatch(/ECONNREFUSED/);
    expect(ok?.error).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(SENDER_TIMEOUT_MS);

    // The receiver saw attempts 1, 2 and 4, all with the same webhook-id, each signed afresh.
    const seen = requestsFor(flaky, order.orderId);
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((request) => request.headers['webhook-id']))).toEqual(new Set([delivery.id]));
    for (const request of seen) {
      expect(new Webhook(endpoint.secret).verify(request.body, signatureHeaders(request))).toMatchObject({ type: 'order.placed' });
    }
  }, 60_000);

  it('stop for an endpoint that answers 410 Gone: it is disabled', async () => {
    const gone = await newReceiver();
    gone.answer = () => ({ status: 410, body: 'unsubscribed' });
    const endpoint = await registerEndpoint(gone, ['order.placed']);

    const first = await placeOrder(1);
    const disabled = await waitFor(
      async () => {
        const response = await api.get(`/v1/webhook-endpoints/${endpoint.id}`);
        return response.body.enabled === false && response.body;
      },
      20_000,
      `the endpoint to be disabled\n${processes.output()}`,
    );
    expect(disabled.disabledReason).toMatch(/410/);
    expect(requestsFor(gone, first.orderId)).toHaveLength(1);
    const [failed, ...none] = await deliveries(endpoint.id);
    expect(none).toEqual([]);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 });

    // The next order reaches the other endpoint, and no longer this one.
    const second = await placeOrder(1);
    await waitFor(async () => requestsFor(main, second.orderId).length > 0, 20_000, `order.placed at the main receiver\n${processes.output()}`);
    expect(requestsFor(gone, second.orderId)).toEqual([]);
    expect(gone.requests).toHaveLength(1);
    expect(await deliveries(endpoint.id)).toHaveLength(1);
    const { rowCount } = await system.db.query('select 1 from webhook_deliveries where endpoint_id = $1', [endpoint.id]);
    expect(rowCount).toBe(1);
  }, 60_000);
});
