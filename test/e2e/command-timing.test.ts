// End to end: scheduled commands, cancellation and live status over HTTP, with the Procfile
// processes as they run in production — two web replicas, a worker and the relay. A command is
// sent to one replica and followed on the other, so what the follower learns crosses processes
// through Redis.
import type { Queue } from 'bullmq';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { ApiClient, type Accepted, type ServerSentEvent } from '../support/api-client.js';
import { stackEnv, systemOnFreshDatabase } from '../support/processes.js';
import { deleteKeys } from '../support/redis-keys.js';
import { sleep, waitFor } from '../support/wait.js';

const system = systemOnFreshDatabase();
const { processes } = system;
let connection: RedisConnection;
let commands: Queue;
let env: Record<string, string>;
/** The replica commands are sent to, and the one they are followed on. */
let intake: ApiClient;
let follower: ApiClient;

beforeAll(async () => {
  env = stackEnv(system.url, { WORKER_CONCURRENCY: '4', SWEEP_INTERVAL_MS: '500', SWEEP_GRACE_MS: '0' });
  ({ commands, connection } = system.commandsQueue(env));
  const [webA, webB] = await Promise.all([
    processes.startWeb(env, 'web-a'),
    processes.startWeb(env, 'web-b'),
    processes.startWorker('worker', env),
    processes.startWorker('relay', env),
  ]);
  intake = new ApiClient(webA.baseUrl);
  follower = new ApiClient(webB.baseUrl);
});

const output = () => processes.output();
const iso = (ms: number) => new Date(ms).toISOString();

async function send(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Accepted> {
  const response = await intake.post<Accepted>(path, body, headers);
  expect(response.status, `POST ${path}: ${JSON.stringify(response.body)}\n${output()}`).toBe(202);
  return response.body;
}

async function processedAt(commandId: string): Promise<number | undefined> {
  const { rows } = await system.db.query<{ processed_at: Date }>('select processed_at from processed_commands where command_id = $1', [commandId]);
  return rows[0]?.processed_at.getTime();
}

const statuses = (events: ServerSentEvent[]) => events.map((event) => event.event);

describe('a running command, followed on the other replica', () => {
  it('cannot be cancelled (409); ?wait= answers within 100 ms of it settling; the stream resumes after Last-Event-ID', async () => {
    const product = await send('/v1/products', { sku: 'HELD-1', name: 'Held', price: { amount: '1.00', currency: 'EUR' }, stock: 1 });
    expect((await follower.get(`/v1/commands/${product.commandId}?wait=15`)).body).toMatchObject({ status: 'succeeded' });
    // The test holds the product's row, so the restock runs until the test lets it go.
    const lock = new pg.Client({ connectionString: system.url });
    await lock.connect();
    try {
      await lock.query('begin');
      await lock.query('select 1 from products where id = $1 for update', [product.productId]);
      const restock = await send(`/v1/products/${product.productId}/restock`, { quantity: 5 });
      await waitFor(
        async () => (await follower.get(`/v1/commands/${restock.commandId}`)).body.status === 'running',
        10_000,
        () => `the restock to run\n${output()}`,
      );

      const refused = await follower.delete(`/v1/commands/${restock.commandId}`);
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ code: 'command_not_cancellable', commandStatus: 'running' });

      const stream = await follower.stream(`/v1/commands/${restock.commandId}/events`);
      expect(statuses(await stream.received(1))).toEqual(['running']);
      const waited = follower.get(`/v1/commands/${restock.commandId}?wait=20`).then((response) => ({ response, at: Date.now() }));
      await sleep(300); // the wait is open on web-b
      await lock.query('commit');

      const { response, at } = await waited;
      expect(response.body).toMatchObject({ status: 'succeeded', attempts: 1 });
      const settledAt = (await processedAt(restock.commandId))!;
      const events = await stream.closed;
      expect(at - settledAt, 'ms from the commit to the answer of ?wait=').toBeLessThan(100);
      expect(statuses(events)).toEqual(['running', 'succeeded']);

      // A client that saw "running" reconnects: it gets what came after, and the stream ends.
      const resumed = await follower.stream(`/v1/commands/${restock.commandId}/events`, { 'last-event-id': events[0]!.id ?? '' });
      expect(statuses(await resumed.closed)).toEqual(['succeeded']);
      const caughtUp = await follower.stream(`/v1/commands/${restock.commandId}/events`, { 'last-event-id': events[1]!.id ?? '' });
      expect(await caughtUp.closed).toEqual([]);
    } finally {
      await lock.query('rollback').catch(() => undefined);
      await lock.end();
    }
  });
});

describe('scheduled commands', () => {
  it('runs a command with Run-At 2 s ahead between 2 and 3 s later; the stream on the other replica shows every step', async () => {
    const sentAt = Date.now();
    const runAt = sentAt + 2000;
    const accepted = await send('/v1/users', { email: 'two-seconds@example.com', name: 'Later' }, { 'run-at': iso(runAt) });
    const stream = await follower.stream(`/v1/commands/${accepted.commandId}/events`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const scheduled = await follower.get(`/v1/commands/${accepted.commandId}`);
    expect(scheduled.body).toEqual({
      commandId: accepted.commandId,
      type: 'RegisterUser',
      status: 'scheduled',
      attempts: 0,
      runAt: iso(runAt),
      sentBy: 'API_KEYS #1',
    });

    const events = await stream.closed;
    expect(statuses(events), `${JSON.stringify(events)}\n${output()}`).toEqual(['scheduled', 'queued', 'running', 'succeeded']);
    expect(events.map((event) => event.id)).toEqual(['0', '1', '2', '3']);
    expect(JSON.parse(events[3]!.data)).toMatchObject({ status: 'succeeded', attempts: 1, result: { userId: accepted.userId } });

    const ranAt = (await processedAt(accepted.commandId))!;
    expect(ranAt - sentAt, 'ms from the request to the command running').toBeGreaterThanOrEqual(2000);
    expect(ranAt - sentAt).toBeLessThan(3000);
    // The delayed job ran on time: the queued event came within a second of Run-At.
    expect(events[1]!.at - runAt).toBeLessThan(1000);
  });

  it('cancelled while scheduled it never runs, even when its job is added again by hand', async () => {
    const email = 'never@example.com';
    const accepted = await send('/v1/users', { email, name: 'Never' }, { 'run-at': iso(Date.now() + 1500) });
    const job = await commands.getJob(accepted.commandId);
    const stream = await follower.stream(`/v1/commands/${accepted.commandId}/events`);
    await stream.received(1);

    const cancelled = await follower.delete(`/v1/commands/${accepted.commandId}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ commandId: accepted.commandId, type: 'RegisterUser', status: 'cancelled', attempts: 0, sentBy: 'API_KEYS #1' });
    expect(statuses(await stream.closed)).toEqual(['scheduled', 'cancelled']);

    // The same payload under the same job id, due at once: the worker refuses it.
    await commands.add('RegisterUser', job!.data, { jobId: accepted.commandId });
    await waitFor(async () => (await commands.getJobState(accepted.commandId)) === 'failed', 10_000, () => `the copy to be refused\n${output()}`);
    expect((await commands.getJob(accepted.commandId))?.failedReason).toMatch(/^command_cancelled: /);
    await sleep(1000); // past the Run-At too
    expect((await system.db.query('select 1 from users where email = $1', [email])).rowCount).toBe(0);
    expect((await intake.get(`/v1/commands/${accepted.commandId}`)).body).toMatchObject({ status: 'cancelled', attempts: 0, sentBy: 'API_KEYS #1' });
  });

  it('survives a restart of the web replica that took it and of the worker; open streams end, not the shutdown', async () => {
    const runAt = Date.now() + 6000;
    const accepted = await send('/v1/users', { email: 'restarts@example.com', name: 'Patient' }, { 'run-at': iso(runAt) });
    const open = await intake.stream(`/v1/commands/${accepted.commandId}/events`);
    await open.received(1);
    const stopping = Date.now();
    const [webExit] = await Promise.all([processes.stop('web-a', 10_000), processes.stop('worker')]);
    expect(webExit, output()).toBe(0); // a graceful exit, not the SIGKILL after 10 s
    expect(Date.now() - stopping).toBeLessThan(5000);
    expect(statuses(await open.closed)).toEqual(['scheduled']);
    const [restartedWeb] = await Promise.all([
      processes.startWeb({ ...env, PORT: new URL(intake.baseUrl).port }, 'web-a-again'),
      processes.startWorker('worker', env, 'worker-again'),
    ]);
    expect(restartedWeb.baseUrl).toBe(intake.baseUrl);
    const status = await intake.get(`/v1/commands/${accepted.commandId}?wait=15`);
    expect(status.body, output()).toMatchObject({ status: 'succeeded' });
    expect((await processedAt(accepted.commandId))!).toBeGreaterThanOrEqual(runAt);
  });

  it('waits with ?wait= no longer than asked: the status as it is then', async () => {
    const accepted = await send('/v1/users', { email: 'much-later@example.com', name: 'Later' }, { 'run-at': iso(Date.now() + 3600_000) });
    const started = Date.now();
    const status = await follower.get(`/v1/commands/${accepted.commandId}?wait=1`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(status.body).toMatchObject({ status: 'scheduled' });
    expect((await intake.delete(`/v1/commands/${accepted.commandId}`)).status).toBe(200);
  });

  it('answers 404 for a command nobody knows, on every route', async () => {
    const unknown = '01930000-0000-7000-8000-00000000dead';
    expect((await follower.get(`/v1/commands/${unknown}?wait=5`)).status).toBe(404);
    expect((await follower.get(`/v1/commands/${unknown}/events`)).status).toBe(404);
    expect((await follower.delete(`/v1/commands/${unknown}`)).status).toBe(404);
  });

  it('comes back when Redis loses its data: the relay restores it from PostgreSQL and it runs', async () => {
    const runAt = Date.now() + 2500;
    const accepted = await send('/v1/users', { email: 'restored@example.com', name: 'Restored' }, { 'run-at': iso(runAt) });
    // Every key of this stack's prefix is gone, as after a Redis restart without persistence.
    // On a cluster, through a client that has found its nodes already (a fresh one may not yet).
    expect(await deleteKeys(env.QUEUE_PREFIX ?? '', connection)).toBeGreaterThan(0);
    expect((await follower.get(`/v1/commands/${accepted.commandId}`)).body).toMatchObject({ status: 'scheduled', runAt: iso(runAt) });
    await waitFor(async () => (await processedAt(accepted.commandId)) !== undefined, 15_000, () => `the restored command to run\n${output()}`);
    expect((await processedAt(accepted.commandId))!).toBeGreaterThanOrEqual(runAt);
    expect(processes.count('relay', 'sweeper restored scheduled commands missing from Redis')).toBeGreaterThanOrEqual(1);
    expect((await follower.get(`/v1/commands/${accepted.commandId}`)).body).toMatchObject({ status: 'succeeded' });
  });
});
