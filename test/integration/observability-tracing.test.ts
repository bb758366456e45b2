import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailer, OutgoingEmail } from '../../src/application/email/ports.js';
import { startTracing, type Tracing } from '../../src/infrastructure/observability/tracing.js';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { startMailer } from '../../src/main/roles/mailer.js';
import { startRelay, type RunningRelay } from '../../src/main/roles/relay.js';
import { buildWeb, type RunningWeb } from '../../src/main/roles/web.js';
import { startWebhooks } from '../../src/main/roles/webhooks.js';
import { infrastructureOnFreshDatabase, stopRoles } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';

// OpenTelemetry across the whole flow, every role in this process (as `npm start` runs them)
// on real PostgreSQL, Redis and an HTTP receiver, with an in-memory span exporter: one trace
// runs from the HTTP request through the command job, the outbox relay, to the email and
// webhook jobs the command caused.

const exporter = new InMemorySpanExporter();
const sent: OutgoingEmail[] = [];
const capturingMailer: Mailer = {
  async send(email) {
    sent.push(email);
    return { status: 'accepted', response: '250 ok' };
  },
  async close() {},
};
const received: IncomingHttpHeaders[] = [];

let tracing: Tracing;
let infra: Infrastructure;
let web: RunningWeb;
let workers: RunningWorker[];
let relay: RunningRelay;
let receiver: Server;

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'conveyor-test', role: 'all', spanProcessor: new SimpleSpanProcessor({ exporter }) });
  infra = await infrastructureOnFreshDatabase({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '0' }, 'all', { tracing });
  receiver = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  web = await buildWeb(infra);
  workers = [startCommandWorker(infra), startMailer(infra, { mailer: capturingMailer }), startWebhooks(infra)];
  relay = await startRelay(infra, { pollIntervalMs: 200 });
});

afterAll(async () => {
  await stopRoles(infra, { web, workers, relay });
  await tracing.shutdown();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const auth = { authorization: 'Bearer test-key' };
const operation = (span: ReadableSpan) => span.attributes['bullmq.queue.operation'];
const queueOf = (span: ReadableSpan) => span.attributes['bullmq.queue.name'];
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** Registers a user (a welcome email, a user.registered webhook) inside the caller's own trace (W3C traceparent). */
async function registerTraced(): Promise<{ traceId: string; commandId: string; userId: string }> {
  const endpoints = await web.app.inject({ method: 'GET', url: '/v1/webhook-endpoints', headers: auth });
  if (endpoints.json<{ items: unknown[] }>().items.length === 0) {
    const endpoint = await web.app.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      headers: auth,
      payload: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, eventTypes: ['user.registered'] },
    });
    expect(endpoint.statusCode).toBe(201);
  }
  const traceId = newId().replaceAll('-', '');
  const response = await web.app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: { ...auth, traceparent: `00-${traceId}-${'ab'.repeat(8)}-01` },
    payload: { email: `${newId()}@example.com`, name: 'Ann' },
  });
  expect(response.statusCode).toBe(202);
  return { traceId, ...response.json<{ commandId: string; userId: string }>() };
}

describe('a traced command', () => {
  it('leaves one trace from the HTTP request to the email and webhook it caused', async () => {
    const { traceId, commandId, userId } = await registerTraced();

    // The spans of the email and webhook jobs end once those jobs settle.
    const spans = await until('the email and webhook job spans', () => {
      const inTrace = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
      const done = ['emails', 'webhooks'].every((queue) =>
        inTrace.some((span) => span.kind === SpanKind.CONSUMER && queueOf(span) === queue),
      );
      return done ? inTrace : undefined;
    });
    expect(sent).toHaveLength(1);
    expect(received).toHaveLength(1);

    const one = (description: string, match: (span: ReadableSpan) => boolean): ReadableSpan => {
      const found = spans.filter(match);
      expect(found, description).toHaveLength(1);
      return found[0] as ReadableSpan;
    };
    const http = one('HTTP server span', (span) => span.kind === SpanKind.SERVER);
    expect(http.name).toBe('POST /v1/users');
    expect(http.attributes['http.route']).toBe('/v1/users');
    expect(parentOf(http)).toBe('ab'.repeat(8));
    const add = one('command add', (span) => operation(span) === 'add' && queueOf(span) === 'commands');
    const processCommand = one('command job', (span) => operation(span) === 'process' && queueOf(span) === 'commands');
    const publish = one('relay publish', (span) => span.name === 'publish user.registered');
    const processEmail = one('email job', (span) => operation(span) === 'process' && queueOf(span) === 'emails');
    const processWebhook = one('webhook job', (span) => operation(span) === 'process' && queueOf(span) === 'webhooks');

    // HTTP → add (inside the request) → command job → relay publish → email and webhook jobs.
    const spanIds = new Set(spans.map((span) => span.spanContext().spanId));
    expect(spanIds.has(parentOf(add) ?? '')).toBe(true);
    expect(parentOf(processCommand)).toBe(add.spanContext().spanId);
    expect(parentOf(publish)).toBe(processCommand.spanContext().spanId);
    expect(parentOf(processEmail)).toBe(publish.spanContext().spanId);
    expect(parentOf(processWebhook)).toBe(publish.spanContext().spanId);
    expect(processCommand.attributes['bullmq.job.id']).toBe(commandId);
    expect(publish.attributes).toMatchObject({ 'conveyor.event.type': 'user.registered', 'conveyor.command.id': commandId });

    // The outbox row keeps the command and the job's trace context, for the relay.
    const { rows } = await infra.pool.query<{ command_id: string; trace_context: Record<string, string> }>(
      'select command_id, trace_context from outbox_messages where aggregate_id = $1',
      [userId],
    );
    expect(rows).toEqual([
      { command_id: commandId, trace_context: { traceparent: `00-${traceId}-${processCommand.spanContext().spanId}-01` } },
    ]);
  });

  it('with RELAY_FIRST_ATTEMPT, leads from the relay\'s publish to its first attempt of the email and the webhook', async () => {
    await relay.stop();
    relay = await startRelay({ ...infra, config: { ...infra.config, relayFirstAttempt: true } }, { pollIntervalMs: 200, mailer: capturingMailer });
    const [sentBefore, receivedBefore] = [sent.length, received.length];
    const { traceId } = await registerTraced();

    const named = (name: string) => (span: ReadableSpan) => span.name === name;
    const spans = await until('the first attempts\' spans', () => {
      const inTrace = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
      return inTrace.some(named('first attempt email')) && inTrace.some(named('first attempt webhook')) ? inTrace : undefined;
    });
    expect(sent).toHaveLength(sentBefore + 1);
    expect(received).toHaveLength(receivedBefore + 1);
    const publish = spans.filter(named('publish user.registered'));
    const email = spans.filter(named('first attempt email'));
    const webhook = spans.filter(named('first attempt webhook'));
    expect([publish.length, email.length, webhook.length]).toEqual([1, 1, 1]);
    expect(parentOf(email[0]!)).toBe(publish[0]!.spanContext().spanId);
    expect(parentOf(webhook[0]!)).toBe(publish[0]!.spanContext().spanId);
    expect(email[0]!.kind).toBe(SpanKind.CONSUMER);
    // No job ran them: neither queue has a span in this trace.
    expect(spans.filter((span) => queueOf(span) === 'emails' || queueOf(span) === 'webhooks')).toEqual([]);
    const { rows } = await infra.pool.query<{ id: string }>(
      "select e.id from email_messages e join outbox_messages o on o.id = e.event_id where o.trace_context->>'traceparent' like $1",
      [`00-${traceId}-%`],
    );
    expect(email[0]!.attributes['conveyor.email.id']).toBe(rows[0]?.id);
  });
});
