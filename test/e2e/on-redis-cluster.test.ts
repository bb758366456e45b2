// The headline flow on a real three-node Redis Cluster: every Procfile role as its own process,
// a hash-tagged QUEUE_PREFIX, HTTP in, a signed webhook and .eml files out.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import type pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { generateWebhookSecret } from '../../src/infrastructure/webhooks/signing.js';
import { closingPool, createTestDatabase } from '../support/database.js';
import { ApiClient } from '../support/api-client.js';
import { ProcessGroup } from '../support/processes.js';
import { HttpReceiver } from '../support/receivers.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/net.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { TEST_RATE_LIMIT_PER_MINUTE } from '../support/config.js';

const API_KEY = 'cluster-key';
const PREFIX = `{conveyor-test-${randomBytes(3).toString('hex')}}`;

let cluster: RedisCluster;
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let endPool: (() => Promise<void>) | undefined;
let mailDir: string;
let receiver: HttpReceiver;
let receiverUrl: string;
let base: string;
let group: ProcessGroup | undefined;
let client: ApiClient;

function output(): string {
  return `${group?.output(4000) ?? ''}\n--- redis ---\n${cluster.logs().slice(-2000)}`;
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return client.request<Record<string, unknown>>(method, path, body, headers);
}

async function commandSucceeds(commandId: unknown): Promise<Record<string, unknown>> {
  expect(commandId).toEqual(expect.any(String));
  return waitFor(
    async () => {
      const { status, body } = await api('GET', `/v1/commands/${String(commandId)}`);
      if (status === 200 && body.status === 'failed') throw new Error(`command failed: ${JSON.stringify(body)}`);
      return status === 200 && body.status === 'succeeded' ? body : undefined;
    },
    30_000,
    `command ${String(commandId)} to succeed`,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${output()}`);
  });
}

beforeAll(async () => {
  [cluster, db, mailDir] = await Promise.all([
    startRedisCluster(),
    createTestDatabase(),
    mkdtemp(join(tmpdir(), 'conveyor-cluster-mail-')),
  ]);
  ({ pool, end: endPool } = closingPool({ connectionString: db.url, max: 2 }));

  receiver = await HttpReceiver.start();
  receiverUrl = `${receiver.url}/hooks`;

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    REDIS_URL: cluster.url,
    QUEUE_PREFIX: PREFIX,
    API_KEYS: API_KEY,
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'secret',
    HOST: '127.0.0.1',
    PORT: String(port),
    SMTP_URL: '',
    MAIL_DIR: mailDir,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WORKER_CONCURRENCY: '4',
  };
  group = new ProcessGroup(env);
  client = new ApiClient(base, API_KEY);
  group.start('worker');
  group.start('relay');
  group.start('webhooks');
  group.start('mailer');
  // Waits for /health/ready; the workers log at warn, so no start-up line to wait for.
  await group.startWeb();
});

afterAll(async () => {
  await group?.stopAll(10_000);
  await receiver?.close();
  await endPool?.();
  await cluster?.stop();
  await db?.drop();
  if (mailDir) await rm(mailDir, { recursive: true, force: true });
});

/** Registers the receiver for order.placed: over HTTP when the route exists, else as a row. */
async function registerWebhook(): Promise<string> {
  const created = await api('POST', '/v1/webhook-endpoints', { url: receiverUrl, eventTypes: ['order.placed'] });
  if (created.status === 201) {
    expect(created.body.secret).toMatch(/^whsec_/);
    return String(created.body.secret);
  }
  // The route is not there yet in this build: register the endpoint the way the use case stores it.
  expect(created.status, JSON.stringify(created.body)).toBe(404);
  const secret = generateWebhookSecret();
  await pool.query(
    `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at)
     values (gen_random_uuid(), $1, $2::jsonb, $3, true, now())`,
    [receiverUrl, JSON.stringify(['order.placed']), secret],
  );
  return secret;
}

/** Every key under the prefix, from every master, with the slot and node it lives on. */
async function keysUnderPrefix(redis: Cluster): Promise<{ key: string; node: string }[]> {
  const found: { key: string; node: string }[] = [];
  for (const node of redis.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) found.push({ key, node: `${node.options.host}:${node.options.port}` });
    } while (cursor !== '0');
  }
  return found;
}

describe('conveyor on a Redis Cluster', () => {
  it('takes commands over HTTP, runs them, delivers the webhook and the emails', async () => {
    const user = await api('POST', '/v1/users', { email: 'cluster@example.com', name: 'Cluster Ann' });
    expect(user.status, JSON.stringify(user.body)).toBe(202);
    const product = await api('POST', '/v1/products', {
      sku: 'CLUSTER-MUG',
      name: 'Mug',
      price: { amount: '12.50', currency: 'EUR' },
      stock: 10,
    });
    expect(product.status, JSON.stringify(product.body)).toBe(202);
    await commandSucceeds(user.body.commandId);
    await commandSucceeds(product.body.commandId);

    const secret = await registerWebhook();

    const orderBody = { userId: user.body.userId, items: [{ productId: product.body.productId, quantity: 2 }] };
    const key = { 'idempotency-key': `cluster-order-${randomBytes(4).toString('hex')}` };
    const order = await api('POST', '/v1/orders', orderBody, key);
    expect(order.status, JSON.stringify(order.body)).toBe(202);
    const done = await commandSucceeds(order.body.commandId);
    expect(done).toMatchObject({ type: 'PlaceOrder', status: 'succeeded' });

    // The replay answers the first answer; another body under the key is refused.
    const replay = await api('POST', '/v1/orders', orderBody, key);
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(order.body);
    const other = await api('POST', '/v1/orders', { ...orderBody, items: [{ productId: product.body.productId, quantity: 1 }] }, key);
    expect(other.status).toBe(422);

    const read = await api('GET', `/v1/orders/${String(order.body.orderId)}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      orderId: order.body.orderId,
      userId: user.body.userId,
      status: 'pending',
      total: { amount: '25.00', currency: 'EUR' },
    });
    const stock = await api('GET', `/v1/products/${String(product.body.productId)}`);
    expect(stock.body).toMatchObject({ stock: 8 });

    // order.placed reaches the receiver, signed with the endpoint's secret.
    const hook = await waitFor(
      async () => receiver.requests.find((entry) => entry.body.includes('"order.placed"')),
      30_000,
      'the order.placed webhook',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${output()}`);
    });
    const payload = new Webhook(secret).verify(hook.body, {
      'webhook-id': String(hook.headers['webhook-id']),
      'webhook-timestamp': String(hook.headers['webhook-timestamp']),
      'webhook-signature': String(hook.headers['webhook-signature']),
    });
    expect(payload).toMatchObject({ type: 'order.placed', data: { orderId: order.body.orderId } });
    // Only the subscribed type was delivered, once.
    expect(receiver.requests.map((entry) => (JSON.parse(entry.body) as { type: string }).type)).toEqual(['order.placed']);

    // The welcome and the order confirmation are written as .eml files.
    const emails = await waitFor(
      async () => {
        const files = (await readdir(mailDir)).filter((name) => name.endsWith('.eml'));
        return files.length >= 2 ? files : undefined;
      },
      30_000,
      'two .eml files',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${output()}`);
    });
    const texts = await Promise.all(emails.map((name) => readFile(join(mailDir, name), 'utf8')));
    expect(texts.every((text) => /^To: .*cluster@example\.com/im.test(text))).toBe(true);
    expect(texts.some((text) => text.includes(String(order.body.orderId)))).toBe(true);
  });

  it('keeps every queue and idempotency key of the hash-tagged prefix in one slot', async () => {
    const redis = createRedisConnection({ url: cluster.url, role: 'worker' }) as Cluster;
    try {
      if (redis.status !== 'ready') await once(redis, 'ready');
      const keys = await keysUnderPrefix(redis);
      expect(keys.some(({ key }) => key.startsWith(`${PREFIX}:commands:`))).toBe(true);
      expect(keys.some(({ key }) => key.startsWith(`${PREFIX}:emails:`))).toBe(true);
      expect(keys.some(({ key }) => key.startsWith(`${PREFIX}:webhooks:`))).toBe(true);
      const idempotency = keys.filter(({ key }) => key.startsWith(`${PREFIX}:idem:`));
      expect(idempotency).toHaveLength(1);
      const idemKey = idempotency[0]?.key ?? '';
      expect(await redis.ttl(idemKey)).toBeGreaterThan(23 * 3600);

      const slots = new Set(await Promise.all(keys.map(({ key }) => redis.cluster('KEYSLOT', key))));
      expect(slots.size).toBe(1);
      expect(new Set(keys.map(({ node }) => node)).size).toBe(1);
    } finally {
      await redis.quit();
    }
  });
});
