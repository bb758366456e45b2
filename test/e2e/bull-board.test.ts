// Bull Board as an operator sees it: real web, worker and relay processes, Debian's Chromium driven
// by playwright-core (which never downloads a browser of its own).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection, type RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { QUEUES, type QueueName } from '../../queues/names.js';
import { REDIS_URL, TEST_RATE_LIMIT_PER_MINUTE } from '../support/config.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { createTestDatabase } from '../support/database.js';
import { ApiClient } from '../support/api-client.js';
import { ProcessGroup } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/net.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const SCREENSHOT = `${ARTIFACTS}bull-board.png`;
const API_KEY = 'browser-key';
const ADMIN = { username: 'ops', password: 'board-secret' };

// CI installs Chromium (.ci/run); elsewhere a machine without it skips rather than fails.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);

let db: { url: string; drop: () => Promise<void> };
let base: string;
let browser: Browser;
let group: ProcessGroup | undefined;
let client: ApiClient;
let redis: RedisConnection | undefined;
let queues: Record<QueueName, Queue>;

/** Jobs in a queue, whatever their state: what Bull Board's card calls "N Jobs". */
async function jobTotal(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

function output(): string {
  return group?.output(4000) ?? '';
}

async function api(method: string, path: string, body?: unknown) {
  return client.request<Record<string, unknown>>(method, path, body);
}

/** Waits for a command to settle and returns its final state. */
async function settled(commandId: unknown): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const { status, body } = await api('GET', `/v1/commands/${String(commandId)}`);
      return status === 200 && (body.status === 'succeeded' || body.status === 'failed') ? body : undefined;
    },
    30_000,
    `command ${String(commandId)}`,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${output()}`);
  });
}

beforeAll(async () => {
  if (!haveChromium) return;
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    REDIS_URL,
    QUEUE_PREFIX: uniquePrefix('board'),
    API_KEYS: API_KEY,
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    ADMIN_USER: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    HOST: '127.0.0.1',
    PORT: String(port),
    WORKER_CONCURRENCY: '2',
  };
  group = new ProcessGroup(env);
  client = new ApiClient(base, API_KEY);
  group.start('worker');
  group.start('relay');
  redis = createRedisConnection({ url: REDIS_URL, role: 'producer' });
  queues = {
    commands: new Queue(QUEUES.commands, { connection: redis, prefix: env.QUEUE_PREFIX }),
    emails: new Queue(QUEUES.emails, { connection: redis, prefix: env.QUEUE_PREFIX }),
    webhooks: new Queue(QUEUES.webhooks, { connection: redis, prefix: env.QUEUE_PREFIX }),
    maintenance: new Queue(QUEUES.maintenance, { connection: redis, prefix: env.QUEUE_PREFIX }),
  };
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    // launch() gives every run a fresh temporary profile (user-data-dir) and removes it on close.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Waits for /health/ready; the workers log at warn, so there is no start-up line to wait for.
  await group.startWeb();
  browser = await launching;
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(Object.values(queues ?? {}).map((queue) => queue.close()));
  await redis?.quit();
  await group?.stopAll(10_000);
  await db?.drop();
});

describe.skipIf(!haveChromium)('Bull Board in Chromium', () => {
  let failedCommandId: string;

  it('runs the flow: one order succeeds, one fails for insufficient stock', async () => {
    const user = await api('POST', '/v1/users', { email: 'board@example.com', name: 'Board' });
    const product = await api('POST', '/v1/products', {
      sku: 'BOARD-1',
      name: 'Lamp',
      price: { amount: '30.00', currency: 'EUR' },
      stock: 1,
    });
    expect(await settled(user.body.commandId)).toMatchObject({ status: 'succeeded' });
    expect(await settled(product.body.commandId)).toMatchObject({ status: 'succeeded' });
    const placed = await api('POST', '/v1/orders', {
      userId: user.body.userId,
      items: [{ productId: product.body.productId, quantity: 1 }],
    });
    expect(await settled(placed.body.commandId)).toMatchObject({ status: 'succeeded' });
    const refused = await api('POST', '/v1/orders', {
      userId: user.body.userId,
      items: [{ productId: product.body.productId, quantity: 5 }],
    });
    expect(refused.status).toBe(202);
    expect(await settled(refused.body.commandId)).toMatchObject({
      status: 'failed',
      error: { code: 'insufficient_stock' },
    });
    failedCommandId = String(refused.body.commandId);
  });

  it('answers 401 with a Basic challenge without the admin login', async () => {
    const anonymous = await browser.newContext();
    const wrong = await browser.newContext({ httpCredentials: { username: ADMIN.username, password: 'nope' } });
    try {
      for (const context of [anonymous, wrong]) {
        const page = await context.newPage();
        const answered = page.waitForResponse(`${base}/admin/queues`);
        // Headless Chromium has nobody to ask for a login: after the 401 it abandons the
        // navigation (ERR_INVALID_AUTH_CREDENTIALS) instead of rendering the problem document.
        const navigation = await page.goto(`${base}/admin/queues`).then(
          () => 'rendered',
          (error: unknown) => String(error),
        );
        const response = await answered;
        expect(response.status()).toBe(401);
        expect(response.headers()['www-authenticate']).toMatch(/^Basic realm=/);
        expect(navigation).toMatch(/rendered|ERR_INVALID_AUTH_CREDENTIALS/);
        expect(await page.locator('#bull-board-sidebar').count()).toBe(0);
      }
    } finally {
      await Promise.all([anonymous.close(), wrong.close()]);
    }
    // Bull Board's JSON API carries the job data: it is behind the same login.
    const badLogin = `Basic ${Buffer.from(`${ADMIN.username}:nope`).toString('base64')}`;
    const goodLogin = `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`;
    const apiUrl = `${base}/admin/queues/api/queues`;
    expect((await fetch(apiUrl)).status).toBe(401);
    expect((await fetch(apiUrl, { headers: { authorization: badLogin } })).status).toBe(401);
    expect((await fetch(apiUrl, { headers: { authorization: goodLogin } })).status).toBe(200);
  });

  it('lists every queue with its job counts, shows the failed job with its error code and the delayed ExpireOrder', async () => {
    expect(failedCommandId, 'the flow test ran first').toBeTruthy();
    // The relay has put the welcome and order-confirmation emails on their queue (no mailer runs),
    // and the placed order's ExpireOrder on `commands`, delayed for ORDER_CONFIRMATION_TIMEOUT.
    await waitFor(async () => (await jobTotal(queues.emails)) === 2, 15_000, 'two email jobs');
    await waitFor(async () => (await queues.commands.getJobCountByTypes('delayed')) === 1, 15_000, 'the delayed ExpireOrder');
    const expected = {
      commands: await jobTotal(queues.commands),
      emails: await jobTotal(queues.emails),
      webhooks: await jobTotal(queues.webhooks),
    };
    expect(expected).toEqual({ commands: 5, emails: 2, webhooks: 0 });

    const context = await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 1280, height: 800 } });
    // Only this machine's server is reached: Bull Board's page also links a web font.
    await context.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
    try {
      const page: Page = await context.newPage();
      const response = await page.goto(`${base}/admin/queues`);
      expect(response?.status()).toBe(200);

      const sidebar = page.locator('#bull-board-sidebar');
      const overview = page.locator('main');
      for (const [name, total] of Object.entries(expected)) {
        await sidebar.getByRole('link', { name, exact: true }).waitFor();
        const card = overview.locator('li').filter({ has: page.locator(`a[title="${name}"]`) });
        await card.getByText(`${total} Jobs`, { exact: true }).waitFor();
      }
      const commandsCard = overview.locator('li').filter({ has: page.locator('a[title="commands"]') });
      await commandsCard.getByRole('link', { name: /failed\s*1/i }).waitFor();
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}bull-board-overview.png` });

      // As an operator would: the queue, its Failed tab, the job.
      await sidebar.getByRole('link', { name: 'commands', exact: true }).click();
      await page.waitForURL(/\/admin\/queues\/queue\/commands$/);
      await page.getByRole('link', { name: /^failed\s*1$/i }).click();
      await page.waitForURL(/\/queue\/commands\?status=failed$/);
      await page.getByRole('link', { name: failedCommandId, exact: true }).click();
      await page.waitForURL(new RegExp(`/queue/commands/${failedCommandId}`));
      const error = page.locator('code').filter({ hasText: 'insufficient_stock' });
      await error.waitFor();
      expect(await error.textContent()).toMatch(/UnrecoverableError: insufficient_stock: product \S+ has 0 in stock, 5 requested/);
      await expect.poll(() => page.getByText('PlaceOrder', { exact: true }).count()).toBeGreaterThan(0);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      // The order's expiry waits under Delayed until ORDER_CONFIRMATION_TIMEOUT has passed.
      await page.goto(`${base}/admin/queues/queue/commands?status=delayed`);
      await page.getByText('ExpireOrder', { exact: true }).first().waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
  });

  it('shows a command held back behind an earlier one of its order under Delayed, with what it waits for', async () => {
    // PlaceOrder due in a minute, and ConfirmOrder of the same order right behind it.
    const placeId = '01930000-0000-7000-8000-0000000b0a01';
    const confirmId = '01930000-0000-7000-8000-0000000b0a02';
    const orderId = '01930000-0000-7000-8000-0000000b0a03';
    await queues.commands.add('PlaceOrder', { commandId: placeId, orderId, userId: orderId, items: [{ productId: orderId, quantity: 1 }] }, {
      jobId: placeId,
      delay: 60_000,
    });
    await queues.commands.add('ConfirmOrder', { commandId: confirmId, orderId, after: placeId }, { jobId: confirmId });
    await waitFor(async () => (await api('GET', `/v1/commands/${confirmId}`)).body.waitingFor === placeId, 15_000, () => `ConfirmOrder to park\n${output()}`);

    const context = await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 1280, height: 800 } });
    await context.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
    try {
      const page: Page = await context.newPage();
      await page.goto(`${base}/admin/queues/queue/commands?status=delayed`);
      await page.getByRole('link', { name: confirmId, exact: true }).click();
      await page.waitForURL(new RegExp(`/queue/commands/${confirmId}`));
      // Its data names the predecessor (`after`), and its Progress tab what it waits for.
      const main = page.locator('main');
      await main.getByText(`after:"${placeId}"`).waitFor();
      await main.getByText('Progress', { exact: true }).click();
      await main.getByText(`waitingFor:"${placeId}"`).waitFor();
      await page.screenshot({ path: `${ARTIFACTS}bull-board-waiting.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('shows a scheduled command (Run-At) as a delayed job of the commands queue, until it is cancelled', async () => {
    const runAt = new Date(Date.now() + 3600_000).toISOString();
    const scheduled = await client.request<{ commandId: string }>('POST', '/v1/users', { email: 'later@example.com', name: 'Later' }, {
      'run-at': runAt,
    });
    expect(scheduled.status).toBe(202);
    const { commandId } = scheduled.body;
    const context = await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 1280, height: 800 } });
    await context.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
    try {
      const page: Page = await context.newPage();
      // Under Delayed (beside the placed order's ExpireOrder and the jobs of the test before).
      await page.goto(`${base}/admin/queues/queue/commands`);
      await page.getByRole('link', { name: /^delayed\s*\d+$/i }).click();
      await page.waitForURL(/\/queue\/commands\?status=delayed$/);
      await page.getByRole('link', { name: commandId, exact: true }).click();
      await page.waitForURL(new RegExp(`/queue/commands/${commandId}`));
      // The job's own page (one card) says when it will run (Run-At), beside when it was added.
      await expect.poll(() => page.getByText('Will run at', { exact: true }).count(), { timeout: 10_000 }).toBe(1);
      await page.getByText(commandId, { exact: true }).first().waitFor();
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}bull-board-delayed.png`, fullPage: true });
    } finally {
      await context.close();
    }
    expect((await api('DELETE', `/v1/commands/${commandId}`)).status).toBe(200);
    expect(await queues.commands.getJob(commandId)).toBeUndefined();
  });
});
