// Scheduled commands, cancellation and the unit of work's refusal, in-process on the real
// PostgreSQL and Redis: the web role's API (app.inject), the command worker, and the relay's
// sweeper of scheduled commands run by hand.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCancelledError, User } from '../../src/domain/index.js';
import { PgCommandOutcomes } from '../../src/infrastructure/persistence/pg-command-outcomes.js';
import { PgScheduledCommands } from '../../src/infrastructure/scheduling/pg-scheduled-commands.js';
import { ScheduledCommandSweeper } from '../../src/infrastructure/scheduling/scheduled-command-sweeper.js';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { buildWeb, type RunningWeb } from '../../src/main/roles/web.js';
import { infrastructureOnFreshDatabase } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';
import { waitFor } from '../support/wait.js';

let infra: Infrastructure;
let web: RunningWeb;
let app: FastifyInstance;
let worker: RunningWorker;

beforeAll(async () => {
  infra = await infrastructureOnFreshDatabase();
  web = await buildWeb(infra);
  app = web.app;
  worker = startCommandWorker(infra);
});

afterAll(async () => {
  await worker?.stop(5000);
  await web?.stop();
  await infra?.close();
});

const auth = { authorization: 'Bearer test-key' };
const count = async (query: string, params: unknown[] = []) => Number((await infra.pool.query<{ n: string }>(query, params)).rows[0]?.n);
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

function register(email: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/users', headers: { ...auth, ...headers }, payload: { email, name: 'Someone' } });
}

async function statusOf(commandId: string) {
  const response = await app.inject({ method: 'GET', url: `/v1/commands/${commandId}`, headers: auth });
  return response.json<{ status: string; runAt?: string; attempts: number; error?: { code: string } }>();
}

describe('Run-At', () => {
  it.each([
    ['in the past', () => inMs(-1000), 'must be in the future'],
    ['now, to the second', () => new Date().toISOString().replace(/\.\d+Z$/, 'Z'), 'must be in the future'],
    ['more than 366 days ahead', () => inMs(367 * 24 * 3600 * 1000), 'must be at most 366 days ahead'],
    ['not RFC 3339', () => 'tomorrow at nine', 'must be an RFC 3339 date-time'],
    ['without a time zone', () => '2099-01-01T09:00:00', 'must be an RFC 3339 date-time'],
  ])('refuses a Run-At %s with 400 problem+json, and queues nothing', async (_what, runAt, message) => {
    const jobsBefore = await infra.queues.commands.count();
    const response = await register(`refused-${newId()}@example.com`, { 'run-at': runAt() });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json<{ type: string; errors: { in: string; path: string; message: string }[] }>();
    expect(problem.type).toBe('urn:conveyor:problem:validation-error');
    expect(problem.errors).toHaveLength(1);
    expect(problem.errors[0]).toMatchObject({ in: 'headers', path: 'run-at' });
    expect(problem.errors[0]?.message).toContain(message);
    expect(await infra.queues.commands.count()).toBe(jobsBefore);
    expect(await count('select count(*) as n from scheduled_commands')).toBe(0);
  });

  it('answers 202, shows the command scheduled with its runAt, and runs it when due', async () => {
    const runAt = new Date(Date.now() + 1500);
    const response = await register('later@example.com', { 'run-at': runAt.toISOString() });
    expect(response.statusCode).toBe(202);
    const { commandId } = response.json<{ commandId: string }>();

    expect(await statusOf(commandId)).toEqual({
      commandId,
      type: 'RegisterUser',
      status: 'scheduled',
      attempts: 0,
      runAt: runAt.toISOString(),
      sentBy: 'API_KEYS #1',
    });
    const job = await infra.queues.commands.getJob(commandId);
    expect(await job?.getState()).toBe('delayed');
    expect(await count('select count(*) as n from scheduled_commands where command_id = $1', [commandId])).toBe(1);

    await waitFor(async () => (await statusOf(commandId)).status === 'succeeded', 10_000, 'the scheduled command to run');
    const { rows } = await infra.pool.query<{ processed_at: Date }>('select processed_at from processed_commands where command_id = $1', [commandId]);
    expect(rows[0]!.processed_at.getTime()).toBeGreaterThanOrEqual(runAt.getTime());
  });

  it('is part of what a repeated Idempotency-Key must match', async () => {
    const runAt = new Date(Date.now() + 3600_000);
    const key = { 'idempotency-key': `schedule-${newId()}` };
    const first = await register('idem@example.com', { ...key, 'run-at': runAt.toISOString() });
    expect(first.statusCode).toBe(202);
    // The same instant written with another offset is the same request.
    const plusTwo = new Date(runAt.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    const replay = await register('idem@example.com', { ...key, 'run-at': plusTwo });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(first.json());

    expect((await register('idem@example.com', { ...key, 'run-at': new Date(runAt.getTime() + 1000).toISOString() })).statusCode).toBe(422);
    expect((await register('idem@example.com', key)).statusCode).toBe(422);
    await app.inject({ method: 'DELETE', url: `/v1/commands/${first.json<{ commandId: string }>().commandId}`, headers: auth });
  });

  it('answers a retry with the first answer even once its Run-At has passed', async () => {
    const runAt = inMs(300);
    const key = { 'idempotency-key': `late-retry-${newId()}` };
    const first = await register('late@example.com', { ...key, 'run-at': runAt });
    expect(first.statusCode).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const retry = await register('late@example.com', { ...key, 'run-at': runAt });
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual(first.json());
    // A new key with the same past Run-At is refused.
    expect((await register('late@example.com', { 'idempotency-key': `other-${newId()}`, 'run-at': runAt })).statusCode).toBe(400);
  });
});

describe('when Redis loses a scheduled command', () => {
  it('still shows it scheduled, and the sweeper adds its job again, due at the same time', async () => {
    const sweeper = new ScheduledCommandSweeper({
      scheduled: new PgScheduledCommands(infra.pool),
      commands: infra.queues.commands,
      logger: infra.logger,
      intervalMs: 1000,
      graceMs: 0,
    });
    const runAt = new Date(Date.now() + 1500);
    const soon = (await register('lost@example.com', { 'run-at': runAt.toISOString() })).json<{ commandId: string }>().commandId;
    const farAhead = (await register('far@example.com', { 'run-at': inMs(200 * 24 * 3600_000) })).json<{ commandId: string }>().commandId;
    // What a Redis that came back empty looks like to these two commands.
    expect(await infra.queues.commands.remove(soon)).toBe(1);
    expect(await infra.queues.commands.remove(farAhead)).toBe(1);
    expect(await statusOf(soon)).toMatchObject({ status: 'scheduled', runAt: runAt.toISOString() });
    expect(await statusOf(farAhead)).toMatchObject({ status: 'scheduled' });

    // Only what is due before the next pass but one comes back now; the rest in a later pass.
    expect(await sweeper.sweep()).toBe(1);
    const restored = await infra.queues.commands.getJob(soon);
    expect(await restored?.getState()).toBe('delayed');
    expect(restored!.timestamp + restored!.delay).toBe(runAt.getTime());
    expect(await infra.queues.commands.getJob(farAhead)).toBeUndefined();
    expect(await sweeper.sweep()).toBe(0); // the job is there now

    await waitFor(async () => (await statusOf(soon)).status === 'succeeded', 10_000, 'the restored command to run');
    expect(await count(`select count(*) as n from users where email = 'lost@example.com'`)).toBe(1);
    // Who sent it came back with its job.
    expect(await statusOf(soon)).toMatchObject({ sentBy: 'API_KEYS #1' });
    // Its row goes once it has an outcome; the far one's stays.
    await sweeper.sweep();
    expect(await count('select count(*) as n from scheduled_commands where command_id = $1', [soon])).toBe(0);
    expect(await count('select count(*) as n from scheduled_commands where command_id = $1', [farAhead])).toBe(1);
    await app.inject({ method: 'DELETE', url: `/v1/commands/${farAhead}`, headers: auth });
  });
});

describe('DELETE /v1/commands/:commandId', () => {
  it('cancels a scheduled command, which then never runs, even when its job is added again by hand', async () => {
    const email = 'cancelled@example.com';
    const accepted = await register(email, { 'run-at': inMs(60_000) });
    const { commandId, userId } = accepted.json<{ commandId: string; userId: string }>();
    const job = await infra.queues.commands.getJob(commandId);

    const cancelled = await app.inject({ method: 'DELETE', url: `/v1/commands/${commandId}`, headers: auth });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toEqual({ commandId, type: 'RegisterUser', status: 'cancelled', attempts: 0, sentBy: 'API_KEYS #1' });
    expect(await infra.queues.commands.getJob(commandId)).toBeUndefined();
    // Who sent it is still on record with its job gone.
    expect(await statusOf(commandId)).toMatchObject({ status: 'cancelled', sentBy: 'API_KEYS #1' });
    const { rows } = await infra.pool.query('select sent_by, sent_by_key_id from processed_commands where command_id = $1', [commandId]);
    expect(rows).toEqual([{ sent_by: 'API_KEYS #1', sent_by_key_id: expect.stringMatching(/^env:[0-9a-f]{8}$/) }]);

    // A copy of the job, the same payload under the same id, due now.
    await infra.queues.commands.add('RegisterUser', job!.data, { jobId: commandId });
    await waitFor(async () => (await infra.queues.commands.getJobState(commandId)) === 'failed', 10_000, 'the copy to be refused');
    const copy = await infra.queues.commands.getJob(commandId);
    expect(copy?.failedReason).toMatch(/^command_cancelled: /);
    expect(copy?.attemptsMade).toBe(1); // final: no retry
    expect(await count('select count(*) as n from users where id = $1', [userId])).toBe(0);
    expect(await statusOf(commandId)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect((await app.inject({ method: 'DELETE', url: `/v1/commands/${commandId}`, headers: auth })).statusCode).toBe(200);
  });

  it('refuses a command that ran with 409 saying it succeeded, and an unknown one with 404', async () => {
    const { commandId } = (await register('ran@example.com')).json<{ commandId: string }>();
    await waitFor(async () => (await statusOf(commandId)).status === 'succeeded', 10_000, 'the command to run');
    const refused = await app.inject({ method: 'DELETE', url: `/v1/commands/${commandId}`, headers: auth });
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ status: 409, code: 'command_not_cancellable', commandStatus: 'succeeded' });
    expect(refused.json<{ detail: string }>().detail).toContain('succeeded');

    const unknown = await app.inject({ method: 'DELETE', url: `/v1/commands/${newId()}`, headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'command_not_found' });
  });
});

describe('a cancel racing the unit of work', () => {
  const outcomes = () => new PgCommandOutcomes(infra.pool);

  it('wins when it commits while the command is running: the command is rolled back and refused', async () => {
    const command = { commandId: newId(), commandType: 'RegisterUser' };
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const userId = newId();
    const run = infra.uow.run(command, async (repos) => {
      started();
      await gate;
      repos.users.add(User.register({ id: userId, email: 'raced@example.com', name: 'Raced', now: new Date() }));
      return { userId };
    });
    await running;
    expect(await outcomes().cancel(command, new Date())).toBe('cancelled');
    release();
    await expect(run).rejects.toBeInstanceOf(CommandCancelledError);
    expect(await count('select count(*) as n from users where id = $1', [userId])).toBe(0);
    expect(await count(`select count(*) as n from processed_commands where command_id = $1 and status = 'cancelled'`, [command.commandId])).toBe(1);
  });

  it('loses to a command that committed first, and reports its outcome', async () => {
    const command = { commandId: newId(), commandType: 'RegisterUser' };
    await infra.uow.run(command, async () => ({ done: true }));
    expect(await outcomes().cancel(command, new Date())).toBe('succeeded');
    expect(await count(`select count(*) as n from processed_commands where command_id = $1 and status = 'succeeded'`, [command.commandId])).toBe(1);
  });
});
