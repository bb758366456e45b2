import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infrastructure/config.js';
import { redacted, withoutCredentials } from '../../src/infrastructure/logger.js';
import { startTracing, type Tracing } from '../../src/infrastructure/observability/tracing.js';
import { API_KEY, CapturedLogs, capturingLogger, inMemoryApi } from './support/api.js';

// Logs are JSON lines an operator ships somewhere else: secrets must never be in them, and the
// ids that let one follow a command (commandId, trace ids) must be.

const WEBHOOK_KEY = randomBytes(32);

describe('log redaction', () => {
  it('logs a configuration without its API keys, passwords or URL credentials', () => {
    const logs = new CapturedLogs();
    const logger = capturingLogger(logs);
    const config = loadConfig({
      NODE_ENV: 'production',
      // Production refuses secrets shorter than 32 characters.
      API_KEYS: 'prod-key-1-0123456789abcdef0123456789,prod-key-2-0123456789abcdef0123456789',
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'board-password-0123456789abcdef0123',
      SMTP_URL: 'smtps://mailer:smtp-password@smtp.example.com:465',
      DATABASE_URL: 'postgres://app:db-password@db.internal:5432/conveyor',
      DATABASE_READ_URL: 'postgres://app:replica-password@replica.internal:5432/conveyor',
      REDIS_URL: 'redis://:redis-password@redis-1:6379,redis://:redis-password@redis-2:6379',
      QUEUE_PREFIX: '{conveyor}',
      WEBHOOK_SECRET_KEYS: `k1:${WEBHOOK_KEY.toString('base64')}`,
    });

    logger.info({ config }, 'configuration');
    logger.info({ env: { WEBHOOK_SECRET_KEYS: `k1:${WEBHOOK_KEY.toString('base64')}` } }, 'environment');

    const text = logs.text();
    for (const secret of ['prod-key-1', 'prod-key-2', 'board-password', 'smtp-password', 'db-password', 'replica-password', 'redis-password']) {
      expect(text).not.toContain(secret);
    }
    // The webhook secret key, in any encoding pino might write it in.
    expect(text).not.toContain(WEBHOOK_KEY.toString('base64'));
    expect(text).not.toContain(JSON.stringify([...WEBHOOK_KEY]).slice(1, -1));
    expect((logs.lines[0]?.config as Record<string, unknown>).webhookSecretKeys).toBe('[redacted]');
    // Where the process connects is still there for the operator.
    const logged = logs.lines[0]?.config as Record<string, unknown>;
    expect(logged.smtpUrl).toBe('smtps://mailer:***@smtp.example.com:465');
    expect(logged.databaseUrl).toBe('postgres://app:***@db.internal:5432/conveyor');
    expect(logged.redisUrl).toBe('redis://:***@redis-1:6379,redis://:***@redis-2:6379');
    expect(logged.apiKeys).toBe('[redacted]');
    expect(logged.admin).toEqual({ user: 'ops', password: '[redacted]' });
  });

  it('redacts webhook secrets and authorization headers wherever they appear', () => {
    const logs = new CapturedLogs();
    const logger = capturingLogger(logs);
    logger.info({ endpoint: { id: 'e1', secret: 'whsec_top' } }, 'one level');
    logger.info({ result: { endpoint: { secret: 'whsec_nested' } } }, 'two levels');
    logger.info({ secret: 'whsec_bare', headers: { authorization: 'Bearer raw-header' } }, 'top level');
    logger.child({ apiKey: 'child-binding-key' }).info('child');

    const text = logs.text();
    for (const secret of ['whsec_top', 'whsec_nested', 'whsec_bare', 'raw-header', 'child-binding-key']) {
      expect(text).not.toContain(secret);
    }
    expect(logs.lines[0]?.endpoint).toEqual({ id: 'e1', secret: '[redacted]' });
  });

  it('redacts inside errors, arrays and child bindings, and leaves the logged objects as they were', () => {
    const logs = new CapturedLogs();
    const logger = capturingLogger(logs);
    const error = Object.assign(new TypeError('connect failed'), { context: { password: 'err-nested-pw', host: 'db' } });
    const payload = { attempts: [{ secret: 'whsec_in_array' }], req: { headers: { 'x-api-key': 'header-key', accept: 'json' } } };
    logger.error({ err: error }, 'under err');
    logger.error(error);
    logger.info(payload, 'array and headers');
    logger.child({ job: { databaseUrl: 'postgres://app:child-db-pw@db:5432/x' } }).child({ ids: [1, 2] }).warn('grandchild');
    logger.error({ err: new Error('outer', { cause: Object.assign(new Error('inner'), { password: 'cause-pw' }) }) }, 'with a cause');

    const text = logs.text();
    for (const secret of ['err-nested-pw', 'whsec_in_array', 'header-key', 'child-db-pw', 'cause-pw']) expect(text).not.toContain(secret);
    // pino writes a cause into the message and stack only; a serializer that writes its fields gets them censored.
    const withCause = redacted({ err: new Error('outer', { cause: Object.assign(new Error('inner'), { password: 'cause-pw' }) }) });
    expect((withCause.err.cause as { password?: unknown }).password).toBe('[redacted]');
    // The error is still written as an error, with its class, message, stack and other fields.
    expect(logs.lines[0]?.err).toMatchObject({ type: 'TypeError', message: 'connect failed', context: { password: '[redacted]', host: 'db' } });
    expect(String((logs.lines[0]?.err as { stack?: unknown }).stack)).toContain('connect failed');
    expect(logs.lines[1]?.err).toMatchObject({ type: 'TypeError', context: { password: '[redacted]' } });
    expect(logs.lines[2]).toMatchObject({ attempts: [{ secret: '[redacted]' }], req: { headers: { 'x-api-key': '[redacted]', accept: 'json' } } });
    expect(logs.lines[3]).toMatchObject({ job: { databaseUrl: 'postgres://app:***@db:5432/x' }, ids: [1, 2], msg: 'grandchild' });
    // What the caller logged is not changed.
    expect(error.context.password).toBe('err-nested-pw');
    expect(payload.attempts[0]?.secret).toBe('whsec_in_array');
  });

  it('redacts inside class instances and raw requests, and a locked-down error neither leaks nor makes the log call throw', () => {
    const logs = new CapturedLogs();
    const logger = capturingLogger(logs);
    class Client {
      readonly options = { host: 'db', password: 'client-pw' };
    }
    const raw = new IncomingMessage(new Socket());
    raw.method = 'GET';
    raw.url = '/v1/orders';
    raw.headers = { authorization: 'Bearer raw-incoming', accept: 'json' };
    const frozen = Object.freeze(Object.assign(new Error('frozen'), { password: 'frozen-pw' }));

    logger.info({ connection: new Client() }, 'a client');
    logger.info(raw, 'a raw request');
    expect(() => logger.error({ err: frozen }, 'frozen')).not.toThrow();

    const text = logs.text();
    for (const secret of ['client-pw', 'raw-incoming', 'frozen-pw']) expect(text).not.toContain(secret);
    expect(logs.lines[0]?.connection).toEqual({ options: { host: 'db', password: '[redacted]' } });
    // pino still recognises the request and writes it through its request serializer.
    expect(logs.lines[1]?.req).toMatchObject({ method: 'GET', url: '/v1/orders', headers: { authorization: '[redacted]', accept: 'json' } });
    expect(logs.lines[2]?.err).toMatchObject({ message: 'frozen', password: '[redacted]' });
  });

  it('strips only the password from connection URLs', () => {
    expect(withoutCredentials('redis://user:pw@host:6379/2')).toBe('redis://user:***@host:6379/2');
    expect(withoutCredentials('postgres://postgres@127.0.0.1:5432/conveyor')).toBe('postgres://postgres@127.0.0.1:5432/conveyor');
    expect(withoutCredentials('not a url')).toBe('[redacted]');
  });
});

describe('API request logs', () => {
  it('never contain the bearer key, and log each accepted command with its id', async () => {
    const logs = new CapturedLogs();
    const { app } = await inMemoryApi({ logger: capturingLogger(logs) });
    // request.log is the redacting logger too: a hook that logs the raw headers leaks nothing.
    app.addHook('onRequest', async (request) => {
      request.log.debug({ headers: request.headers }, 'headers as received');
    });

    const response = await app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: { authorization: `Bearer ${API_KEY}` },
      payload: { email: 'ann@example.com', name: 'Ann' },
    });
    const refused = await app.inject({ method: 'GET', url: '/v1/orders/x', headers: { authorization: 'Bearer secret-key-but-wrong' } });
    await app.close();

    expect(response.statusCode).toBe(202);
    expect(refused.statusCode).toBe(401);
    const { commandId, userId } = response.json<{ commandId: string; userId: string }>();
    expect(logs.raw.length).toBeGreaterThan(4);
    expect(logs.text()).not.toContain(API_KEY);
    expect(logs.lines.some((line) => line.msg === 'headers as received')).toBe(true);

    const accepted = logs.lines.find((line) => line.msg === 'command accepted');
    expect(accepted).toMatchObject({ commandId, jobId: commandId, commandType: 'RegisterUser', userId, role: 'web' });
    // The request id ties it to Fastify's "incoming request" and "request completed" lines.
    const requestLines = logs.lines.filter((line) => line.reqId === accepted?.reqId);
    expect(requestLines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'command accepted', 'request completed']),
    );
  });
});

describe('trace ids in logs', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('are added to lines written inside a span, and only there', () => {
    const exporter = new InMemorySpanExporter();
    tracing = startTracing({ serviceName: 'conveyor-test', role: 'test', spanProcessor: new SimpleSpanProcessor({ exporter }) });
    const logs = new CapturedLogs();
    const logger = capturingLogger(logs, 'worker');

    logger.info('outside');
    const ids = trace.getTracer('test').startActiveSpan('job', (span) => {
      logger.child({ jobId: '1' }).info('inside');
      span.end();
      return span.spanContext();
    });

    const [outside, inside] = logs.lines;
    expect(outside).not.toHaveProperty('trace_id');
    expect(inside).toMatchObject({ msg: 'inside', jobId: '1', trace_id: ids.traceId, span_id: ids.spanId });
  });
});
