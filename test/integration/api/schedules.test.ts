import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue } from '../../../src/infrastructure/queue/queues.js';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import { createScheduleManagement } from '../../../src/main/roles/scheduling.js';
import { QUEUES } from '../../../queues/names.js';
import { SCHEDULE_TICK_JOB } from '../../../queues/schedules.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../../support/orm.js';
import { type TestApi, UUID_V7, auth, expectProblem, startApi } from '../../support/in-process-api.js';

// The schedule routes on the real use cases (createScheduleManagement) over a fresh PostgreSQL
// database and the app's real `commands` queue in Redis (nothing consumes it here: the ticks
// stay delayed, the runs are written by hand).

let db: OrmFixture;
let api: TestApi;

beforeAll(async () => {
  db = await ormOnFreshDatabase();
  api = await startApi(({ queues }) => ({ schedules: createScheduleManagement({ pool: db.pool, queues }) }));
});

afterAll(async () => {
  await api.close();
  await db.close();
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const restock = (productId = newId(), quantity = 5) => ({ type: 'RestockProduct', body: { productId, quantity } });

function post(payload: unknown, headers: Record<string, string> = auth) {
  return api.app.inject({ method: 'POST', url: '/v1/schedules', headers, payload: payload as object });
}

const get = (url: string) => api.app.inject({ method: 'GET', url, headers: auth });

async function created(payload: Record<string, unknown>) {
  const response = await post(payload);
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string; nextRunAt: string; runsUrl: string; [key: string]: unknown }>();
}

describe('POST /v1/schedules', () => {
  it('creates an every-N-seconds schedule: 201 with its next run, a Location, a job scheduler on the commands queue', async () => {
    const command = restock();
    const before = Date.now();

    const response = await post({ name: 'restock widgets', every: '60', command });

    expect(response.statusCode, response.body).toBe(201);
    const body = response.json<Record<string, string>>();
    expect(body).toEqual({
      id: expect.stringMatching(UUID_V7),
      name: 'restock widgets',
      every: '60',
      command,
      createdAt: expect.stringMatching(ISO),
      nextRunAt: expect.stringMatching(ISO),
      runsUrl: `/v1/schedules/${body.id}/runs`,
    });
    expect(response.headers.location).toBe(`/v1/schedules/${body.id}`);
    // An every schedule runs first at once, then every 60 s from then on.
    const next = Date.parse(body.nextRunAt ?? '');
    expect(next).toBeGreaterThanOrEqual(before);
    expect(next).toBeLessThanOrEqual(Date.now());
    const scheduler = await api.commands.getJobScheduler(body.id ?? '');
    expect(scheduler).toMatchObject({ name: SCHEDULE_TICK_JOB, every: 60_000, template: { data: { scheduleId: body.id, command } } });
    const tick = await api.commands.getJob(`repeat:${body.id}:${next}`);
    expect(tick?.name).toBe(SCHEDULE_TICK_JOB);
    expect(await tick?.getState()).toBe('waiting');
    const [row] = (await db.pool.query('select name, every_seconds, cron, command_type, command_body from schedules where id = $1', [body.id])).rows;
    expect(row).toEqual({ name: 'restock widgets', every_seconds: 60, cron: null, command_type: 'RestockProduct', command_body: command.body });
  });

  it('creates a cron schedule in a time zone (UTC when none is given) and accepts every as an integer', async () => {
    const paris = await created({ name: 'weekday mornings', cron: '0 9 * * 1-5', timezone: 'Europe/Paris', command: restock() });
    const utc = await created({ name: 'nightly', cron: '30  2 * * *', command: restock() });
    const integer = await created({ name: 'integer', every: 90, command: restock() });

    expect(paris).toMatchObject({ cron: '0 9 * * 1-5', timezone: 'Europe/Paris' });
    expect(new Date(paris.nextRunAt).getUTCMinutes()).toBe(0);
    expect([7, 8]).toContain(new Date(paris.nextRunAt).getUTCHours()); // 09:00 in Paris: CET or CEST
    expect(utc).toMatchObject({ cron: '30 2 * * *', timezone: 'UTC' });
    expect(utc.nextRunAt).toMatch(/T02:30:00\.000Z$/);
    // A cron schedule's first tick waits on the queue as a delayed job (Bull Board shows it so).
    expect(await (await api.commands.getJob(`repeat:${utc.id}:${Date.parse(utc.nextRunAt)}`))?.getState()).toBe('delayed');
    expect(integer.every).toBe('90');
  });

  it('schedules a standing order (a new order id at every run) and the order status commands', async () => {
    const order = { type: 'PlaceOrder', body: { userId: newId(), items: [{ productId: newId(), quantity: 2 }] } };
    await created({ name: 'standing order', every: '604800', command: order });
    await created({ name: 'cancel', every: '60', command: { type: 'CancelOrder', body: { orderId: newId(), reason: 'too slow' } } });
    await created({ name: 'confirm', every: '60', command: { type: 'ConfirmOrder', body: { orderId: newId() } } });
  });

  it.each([
    ['a body the command refuses', { every: '60', command: restock(newId(), 0) }, 'command.body.quantity'],
    ['an unknown field in the command body', { every: '60', command: { type: 'ShipOrder', body: { orderId: newId(), when: 'now' } } }, 'command.body.when'],
    ['a command that needs its id in the body', { every: '60', command: { type: 'ShipOrder', body: {} } }, 'command.body.orderId'],
    ['a PlaceOrder that names its order id', { every: '60', command: { type: 'PlaceOrder', body: { orderId: newId(), userId: newId(), items: [{ productId: newId(), quantity: 1 }] } } }, 'command.body.orderId'],
    ['a command type no schedule may run', { every: '60', command: { type: 'RegisterUser', body: { email: 'a@example.com', name: 'A' } } }, 'command.type'],
    ['an internal command', { every: '60', command: { type: 'ExpireOrder', body: { orderId: newId() } } }, 'command.type'],
    ['a cron expression of 6 fields', { cron: '0 0 9 * * *', command: restock() }, 'cron'],
    ['a cron macro', { cron: '@daily', command: restock() }, 'cron'],
    ['a cron expression out of range', { cron: '61 * * * *', command: restock() }, 'cron'],
    ['a cron expression that never fires', { cron: '0 0 30 2 *', command: restock() }, 'cron'],
    ['an unknown time zone', { cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons', command: restock() }, 'timezone'],
    ['a time zone with every', { every: '60', timezone: 'Europe/Paris', command: restock() }, 'timezone'],
    ['every 0 seconds', { every: '0', command: restock() }, 'every'],
    ['every as a fraction', { every: '1.5', command: restock() }, 'every'],
    ['every beyond 366 days', { every: String(366 * 86400 + 1), command: restock() }, 'every'],
    ['both every and cron', { every: '60', cron: '* * * * *', command: restock() }, 'cron'],
    ['neither every nor cron', { command: restock() }, 'every'],
  ])('refuses %s with 400 problem+json naming the field', async (_, fields, path) => {
    const response = await post({ name: 'refused', ...fields });

    expect(response.statusCode, response.body).toBe(400);
    const problem = expectProblem(response);
    expect(problem.type).toBe('urn:conveyor:problem:validation-error');
    expect(problem.errors?.map((error) => error.path)).toContain(path);
    expect(problem.errors?.find((error) => error.path === path)?.message.length).toBeGreaterThan(0);
  });

  it('says why a cron expression is refused', async () => {
    const problem = expectProblem(await post({ name: 'x', cron: '61 * * * *', command: restock() }));
    expect(problem.errors).toEqual([{ in: 'body', path: 'cron', message: expect.stringMatching(/not a valid cron expression: .*61/) }]);
  });

  it('refuses a missing or blank name, and creates nothing when it refuses', async () => {
    const before = (await db.pool.query('select count(*)::int as n from schedules')).rows[0].n as number;
    const schedulers = await api.commands.getJobSchedulersCount();

    for (const name of [undefined, '   ']) {
      const response = await post({ name, every: '60', command: restock() });
      expect(response.statusCode).toBe(400);
      expect(expectProblem(response).errors?.map((error) => error.path)).toContain('name');
    }

    expect((await db.pool.query('select count(*)::int as n from schedules')).rows[0].n).toBe(before);
    expect(await api.commands.getJobSchedulersCount()).toBe(schedulers);
  });

  it('answers 503 and keeps nothing while Redis cannot be reached', async () => {
    const dead = createRedisConnection({ url: 'redis://127.0.0.1:1', role: 'producer' });
    dead.on('error', () => undefined);
    const deadQueue = createQueue(QUEUES.commands, { connection: dead, prefix: api.prefix });
    deadQueue.on('error', () => undefined);
    const offline = await startApi(() => ({ schedules: createScheduleManagement({ pool: db.pool, queues: { commands: deadQueue } }) }));
    const before = (await db.pool.query('select count(*)::int as n from schedules')).rows[0].n as number;
    try {
      const response = await offline.app.inject({
        method: 'POST',
        url: '/v1/schedules',
        headers: auth,
        payload: { name: 'offline', every: '60', command: restock() },
      });

      expect(response.statusCode, response.body).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect((await db.pool.query('select count(*)::int as n from schedules')).rows[0].n).toBe(before);
    } finally {
      await offline.close();
      await deadQueue.close();
      dead.disconnect();
    }
  });

  it('needs the API key', async () => {
    const response = await post({ name: 'x', every: '60', command: restock() }, {});
    expect(response.statusCode).toBe(401);
  });
});

describe('GET, runs and DELETE /v1/schedules/{id}', () => {
  it('lists every schedule with its next run and reads one', async () => {
    const schedule = await created({ name: 'listed', every: '120', command: restock() });

    const list = await get('/v1/schedules');
    const one = await get(`/v1/schedules/${schedule.id}`);

    expect(list.statusCode).toBe(200);
    const listed = list.json<{ items: { id: string; nextRunAt: string }[] }>().items.find((item) => item.id === schedule.id);
    expect(listed).toEqual(schedule);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(schedule);
  });

  it('lists the runs newest first, each with the status of its command', async () => {
    const schedule = await created({ name: 'with runs', every: '60', command: restock() });
    const [older, newer] = [newId(), newId()];
    for (const [commandId, dueAt] of [
      [older, '2026-01-01T10:00:00.000Z'],
      [newer, '2026-01-01T10:01:00.000Z'],
    ] as const) {
      await db.pool.query('insert into schedule_runs (command_id, schedule_id, due_at, created_at) values ($1, $2, $3, now())', [
        commandId,
        schedule.id,
        dueAt,
      ]);
    }
    api.readModel.processed.set(older, {
      commandId: older,
      type: 'RestockProduct',
      status: 'succeeded',
      result: { productId: 'p', stock: 5 },
      error: null,
      processedAt: '2026-01-01T10:00:00.100Z',
    });

    const response = await get(`${schedule.runsUrl}?limit=10`);

    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      items: [
        { commandId: newer, type: 'RestockProduct', status: 'queued', attempts: 0, dueAt: '2026-01-01T10:01:00.000Z', statusUrl: `/v1/commands/${newer}` },
        {
          commandId: older,
          type: 'RestockProduct',
          status: 'succeeded',
          attempts: 1,
          result: { productId: 'p', stock: 5 },
          dueAt: '2026-01-01T10:00:00.000Z',
          statusUrl: `/v1/commands/${older}`,
        },
      ],
    });
    expect((await get(`${schedule.runsUrl}?limit=1`)).json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('deletes a schedule: 204, then 404 for it and its runs, and its job scheduler is gone', async () => {
    const schedule = await created({ name: 'doomed', every: '60', command: restock() });

    const deleted = await api.app.inject({ method: 'DELETE', url: `/v1/schedules/${schedule.id}`, headers: auth });

    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(await api.commands.getJobScheduler(schedule.id)).toBeUndefined();
    for (const url of [`/v1/schedules/${schedule.id}`, schedule.runsUrl]) {
      const response = await get(url);
      expect(response.statusCode).toBe(404);
      expect(expectProblem(response).code).toBe('schedule_not_found');
    }
    const again = await api.app.inject({ method: 'DELETE', url: `/v1/schedules/${schedule.id}`, headers: auth });
    expect(again.statusCode).toBe(404);
    expect((await get('/v1/schedules')).json<{ items: { id: string }[] }>().items.map((item) => item.id)).not.toContain(schedule.id);
  });

  it('answers 404 for an unknown schedule and 400 for an id that is no UUID', async () => {
    expect((await get(`/v1/schedules/${newId()}`)).statusCode).toBe(404);
    expect((await api.app.inject({ method: 'DELETE', url: `/v1/schedules/${newId()}`, headers: auth })).statusCode).toBe(404);
    expect((await get('/v1/schedules/not-a-uuid')).statusCode).toBe(400);
  });
});

describe('the OpenAPI document', () => {
  it('describes the schedule routes with the zod schemas, the command union included', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { tags: string[]; requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    }>();

    expect(Object.keys(document.paths['/v1/schedules'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(document.paths['/v1/schedules/{id}'] ?? {}).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(document.paths['/v1/schedules/{id}/runs'] ?? {})).toEqual(['get']);
    expect(document.paths['/v1/schedules']?.post?.tags).toEqual(['schedules']);
    const body = JSON.stringify(document.paths['/v1/schedules']?.post?.requestBody);
    for (const text of ['cron', 'every', 'timezone', 'RestockProduct', 'PlaceOrder', 'quantity']) expect(body).toContain(text);
    expect(body).not.toContain('RegisterUser');
  });
});
