// Bull Board as an operator sees it: real web, worker and relay processes, Debian's Chromium driven
// by playwright-core (which never downloads a browser of its own).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
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
// Failed logins: after this many from one address in the window, the board answers 429.
const MAX_FAILURES = 5;
const WINDOW_S = 10;

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
/** When the last wrong login was sent: the throttle test waits for its window to pass. */
let lastWrongLoginAt = 0;

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

/** A browser context with the admin login that reaches only this machine (the page also links a web font). */
async function viewerContext(credentials: { username: string; password: string } = ADMIN): Promise<BrowserContext> {
  const context = await browser.newContext({ httpCredentials: credentials, viewport: { width: 1280, height: 800 } });
  await context.route('**/*', (route) =>
    new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
  );
  return context;
}

/** Navigates to `url` and returns the responses the page saw for it. */
async function navigate(page: Page, url: string): Promise<Response[]> {
  const responses: Response[] = [];
  const collect = (response: Response) => {
    if (response.url() === url) responses.push(response);
  };
  page.on('response', collect);
  // After a 401 to credentials headless Chromium abandons the navigation (ERR_INVALID_AUTH_CREDENTIALS).
  await page.goto(url).catch((error: unknown) => {
    if (!String(error).includes('ERR_INVALID_AUTH_CREDENTIALS')) throw error;
  });
  page.off('response', collect);
  return responses;
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
    ADMIN_LOGIN_MAX_FAILURES: String(MAX_FAILURES),
    ADMIN_LOGIN_WINDOW: `${WINDOW_S}s`,
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
  let delayedCommandId: string;

  it('runs the flow: one order succeeds, one fails for insufficient stock, a restock is due in an hour', async () => {
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
    // A restock with a Run-At an hour away waits on `commands` as a delayed job.
    const later = await client.request<Record<string, unknown>>('POST', `/v1/products/${String(product.body.productId)}/restock`, { quantity: 3 }, {
      'run-at': new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(later.status).toBe(202);
    delayedCommandId = String(later.body.commandId);
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
    lastWrongLoginAt = Date.now();
    expect((await fetch(apiUrl, { headers: { authorization: goodLogin } })).status).toBe(200);
  });

  it('keeps the scripts and styles the page loads behind the same login', async () => {
    const context = await viewerContext();
    const assets: Response[] = [];
    try {
      const page = await context.newPage();
      page.on('response', (response) => {
        if (new URL(response.url()).pathname.startsWith('/admin/queues/static/')) assets.push(response);
      });
      expect((await page.goto(`${base}/admin/queues`))?.status()).toBe(200);
      await page.locator('#bull-board-sidebar').waitFor();
    } finally {
      await context.close();
    }
    const loaded = assets.filter((response) => response.status() === 200).map((response) => response.url());
    const script = loaded.find((url) => url.endsWith('.js'));
    const style = loaded.find((url) => url.endsWith('.css'));
    expect(script, `scripts loaded: ${loaded.join(', ')}`).toBeDefined();
    expect(style, `styles loaded: ${loaded.join(', ')}`).toBeDefined();

    const anonymous = await browser.newContext();
    try {
      for (const url of [script!, style!]) {
        const responses = await navigate(await anonymous.newPage(), url);
        expect(responses.map((response) => response.status()), url).toEqual([401]);
        expect(responses[0]!.headers()['www-authenticate']).toMatch(/^Basic realm=/);
      }
    } finally {
      await anonymous.close();
    }
  });

  it('lists every queue with its job counts, shows the failed job with its error code and the delayed restock', async () => {
    expect(failedCommandId, 'the flow test ran first').toBeTruthy();
    // The relay has put the welcome and order-confirmation emails on their queue (no mailer runs);
    // the restock waits on `commands` until its Run-At.
    await waitFor(async () => (await jobTotal(queues.emails)) === 2, 15_000, 'two email jobs');
    expect(await queues.commands.getJobCountByTypes('delayed')).toBe(1);
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

      // The restock waits under Delayed until its Run-At.
      await page.goto(`${base}/admin/queues/queue/commands?status=delayed`);
      await page.getByText('RestockProduct', { exact: true }).first().waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
  });

  it('is read-only: the viewer is offered no write action, and every write the board knows is refused with the jobs left as they were', async () => {
    expect(failedCommandId, 'the flow test ran first').toBeTruthy();
    expect(await queues.commands.getJobState(delayedCommandId), 'the delayed restock').toBe('delayed');
    const countsBefore = await queues.commands.getJobCounts();

    const context = await viewerContext();
    try {
      const page = await context.newPage();
      const writes: string[] = [];
      page.on('request', (request) => {
        if (!['GET', 'HEAD'].includes(request.method())) writes.push(`${request.method()} ${request.url()}`);
      });
      // The failed job and its queue: no Retry, Clean, Promote, Update Data or Duplicate on the job,
      // no Retry all / Clean all on the list, no Pause, Empty, Obliterate or Add job on the queue.
      await page.goto(`${base}/admin/queues/queue/commands?status=failed`);
      await page.getByRole('link', { name: failedCommandId, exact: true }).waitFor();
      for (const name of ['Retry all', 'Clean all', 'Pause', 'Pause all', 'Empty', 'Obliterate', 'Add job', 'Retry', 'Clean']) {
        expect(await page.getByRole('button', { name, exact: true }).count(), `button ${name} on the failed list`).toBe(0);
      }
      await page.goto(`${base}/admin/queues/queue/commands/${failedCommandId}`);
      await page.locator('code').filter({ hasText: 'insufficient_stock' }).waitFor();
      for (const name of ['Retry', 'Clean', 'Promote', 'Update Data', 'Duplicate']) {
        expect(await page.getByRole('button', { name, exact: true }).count(), `button ${name} on the job`).toBe(0);
      }
      await page.goto(`${base}/admin/queues/queue/commands?status=delayed`);
      await page.getByText('RestockProduct', { exact: true }).first().waitFor();
      expect(await page.getByRole('button', { name: 'Promote all', exact: true }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Promote', exact: true }).count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}bull-board-read-only.png`, fullPage: true });
      expect(writes, 'requests the page sent that were not reads').toEqual([]);

      // The same writes sent by hand from the viewer's logged-in page: each is refused.
      const api = `${base}/admin/queues/api/queues`;
      const attempts: [string, string][] = [
        ['retry', `PUT ${api}/commands/${failedCommandId}/retry`],
        ['retry all failed', `PUT ${api}/commands/retry/failed`],
        ['clean (remove) the job', `PUT ${api}/commands/${failedCommandId}/clean`],
        ['clean all failed', `PUT ${api}/commands/clean/failed`],
        ['promote', `PUT ${api}/commands/${delayedCommandId}/promote`],
        ['promote all', `PUT ${api}/commands/promote`],
        ['pause', `PUT ${api}/commands/pause`],
        ['pause all', `PUT ${api}/pause`],
        ['empty', `PUT ${api}/commands/empty`],
        ['obliterate', `PUT ${api}/commands/obliterate`],
        ['add a job', `POST ${api}/commands/add`],
        ['update data', `PATCH ${api}/commands/${failedCommandId}/update-data`],
      ];
      const answers = await page.evaluate(
        async (requests) =>
          Promise.all(
            requests.map(async ([, request]) => {
              const [method, url] = request.split(' ') as [string, string];
              const response = await fetch(url, {
                method,
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ name: 'Injected', data: { injected: true }, force: true }),
              });
              return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
            }),
          ),
        attempts,
      );
      answers.forEach((answer, index) => {
        const [action] = attempts[index]!;
        expect(answer.status, action).toBe(403);
        expect(answer.type, action).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(answer.body).detail, action).toMatch(/read-only/);
      });
    } finally {
      await context.close();
    }

    // Nothing moved in Redis.
    expect(await queues.commands.isPaused()).toBe(false);
    expect(await queues.commands.getJobCounts()).toEqual(countsBefore);
    const failedJob = await queues.commands.getJob(failedCommandId);
    expect(await failedJob?.getState()).toBe('failed');
    expect(failedJob?.data).not.toHaveProperty('injected');
    expect(await queues.commands.getJobState(delayedCommandId)).toBe('delayed');
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
      // Under Delayed (beside the restock of the flow and the jobs of the test before).
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
  it(`answers 429 with Retry-After after ${MAX_FAILURES} wrong passwords, even to the right one, until the window has passed`, async () => {
    // The wrong logins of the test above must be out of their window first.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastWrongLoginAt + WINDOW_S * 1000 + 500 - Date.now())));
    const url = `${base}/admin/queues`;
    const guesser = await viewerContext({ username: ADMIN.username, password: 'guess' });
    try {
      const page = await guesser.newPage();
      for (let attempt = 1; attempt <= MAX_FAILURES; attempt++) {
        // Chromium asks without credentials first (a challenge, not counted), then with them
        // (the page sees only the last answer).
        expect((await navigate(page, url)).at(-1)?.status(), `attempt ${attempt}`).toBe(401);
      }
      const refused = (await navigate(page, url)).at(-1);
      expect(refused?.status()).toBe(429);
      const retryAfter = Number(refused?.headers()['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
      expect(await refused?.json()).toMatchObject({ status: 429, detail: expect.stringContaining('Too many failed logins') });
    } finally {
      await guesser.close();
    }

    // From the same address the right password is refused too, until the window has passed.
    const operator = await viewerContext();
    try {
      const page = await operator.newPage();
      const refused = (await navigate(page, url)).at(-1);
      expect(refused?.status()).toBe(429);
      const retryAfter = Number(refused?.headers()['retry-after']);
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 500));
      expect((await page.goto(url))?.status()).toBe(200);
      await page.locator('#bull-board-sidebar').getByRole('link', { name: 'commands', exact: true }).waitFor();
    } finally {
      await operator.close();
    }
  });
});
