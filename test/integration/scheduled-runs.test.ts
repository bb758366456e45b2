// Recurring schedules on the real pieces, in one process: BullMQ job schedulers on the
// `commands` queue of a real Redis (own prefix), the command worker that turns ticks into runs,
// the run log and the schedules in a fresh PostgreSQL database. The API over them is in
// test/integration/api/schedules.test.ts, several processes in test/e2e/scheduled-work.test.ts.
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleManagement } from '../../src/application/scheduling/management.js';
import type { Schedule } from '../../src/application/scheduling/schedule.js';
import { derivedId } from '../../src/infrastructure/queue/derived-ids.js';
import { BullMqScheduler } from '../../src/infrastructure/scheduling/bullmq-scheduler.js';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { createScheduleManagement, scheduleRestorer, scheduleTickProcessor } from '../../src/main/roles/scheduling.js';
import { SCHEDULE_TICK_JOB } from '../../queues/schedules.js';
import { addProductThrough, registerUserThrough } from '../support/commerce.js';
import { infrastructureOnFreshDatabase } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';
import { sleep, waitFor } from '../support/wait.js';

let infra: Infrastructure;
let worker: RunningWorker | undefined;
let management: ScheduleManagement;

beforeAll(async () => {
  infra = await infrastructureOnFreshDatabase();
  management = createScheduleManagement(infra);
});

afterAll(async () => {
  await worker?.stop(5000);
  await infra.queues.commands.obliterate({ force: true });
  await infra.close();
});

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  infra.orm.em.fork().getConnection().execute<T[]>(query, params);

const stockOf = async (productId: string) =>
  (await sql<{ stock: number }>('select stock from products where id = ?', [productId]))[0]?.stock;

const runsOf = (scheduleId: string) =>
  sql<{ command_id: string; due_at: string }>('select command_id, due_at from schedule_runs where schedule_id = ? order by due_at', [
    scheduleId,
  ]);

/** A tick job as BullMQ's job scheduler makes it, for calling the processor by hand. */
function tick(schedule: Schedule, dueAt: number): Job {
  return {
    id: `repeat:${schedule.id}:${dueAt}`,
    name: SCHEDULE_TICK_JOB,
    data: { scheduleId: schedule.id, command: schedule.command },
    timestamp: dueAt,
    delay: 0,
  } as unknown as Job;
}

describe('a schedule every second, with the command worker running', () => {
  it('starts one run per tick, each an ordinary command recorded under the schedule, and none once deleted', async () => {
    const productId = await addProductThrough(infra.uow, 0);
    const running = startCommandWorker(infra);
    worker = running;
    const schedule = await management.createSchedule.execute({
      name: 'restock widgets',
      every: 1,
      command: { type: 'RestockProduct', body: { productId, quantity: 5 } },
    });

    await waitFor(async () => (await runsOf(schedule.id)).length >= 3, 15_000, 'three runs');
    await management.deleteSchedule.execute(schedule.id);
    await sleep(500); // a tick being handled at the deletion may still finish
    const settled = await waitFor(async () => {
      const rows = await sql<{ n: number }>(
        `select count(*)::int as n from processed_commands where command_type = 'RestockProduct' and status = 'succeeded'`,
      );
      const runs = await sql<{ n: number }>(`select count(*)::int as n from processed_commands where command_type = 'RestockProduct'`);
      return rows[0]?.n === runs[0]?.n && rows[0]?.n;
    });
    const stock = await stockOf(productId);

    // Every run restocked once: five units per succeeded RestockProduct, nothing else.
    expect(stock).toBe(5 * settled);
    // The deletion took the runs' records with it, and the scheduler is gone from Redis.
    expect(await runsOf(schedule.id)).toEqual([]);
    expect(await infra.queues.commands.getJobScheduler(schedule.id)).toBeUndefined();
    await sleep(2_000);
    expect(await stockOf(productId)).toBe(stock);
    // The tests below call the processor by hand and look at the jobs it queues.
    await running.stop(5000);
    worker = undefined;
  });
});

describe('the tick processor', () => {
  it('queues the run of a tick delivered twice once, under one derived command id', async () => {
    const productId = await addProductThrough(infra.uow, 0);
    const schedule = await management.createSchedule.execute({
      name: 'restock by hand',
      every: 3600,
      command: { type: 'RestockProduct', body: { productId, quantity: 2 } },
    });
    const process = scheduleTickProcessor(infra);
    const dueAt = Date.now();

    const first = await process(tick(schedule, dueAt));
    const again = await process(tick(schedule, dueAt));

    const commandId = derivedId('schedule-run', `repeat:${schedule.id}:${dueAt}`);
    expect(first).toEqual({ commandId, started: true });
    expect(again).toEqual(first);
    const runs = await runsOf(schedule.id);
    expect(runs.map((run) => run.command_id)).toEqual([commandId]);
    expect(new Date(runs[0]?.due_at ?? 0).getTime()).toBe(dueAt);
    const job = await infra.queues.commands.getJob(commandId);
    expect(job?.name).toBe('RestockProduct');
    expect(job?.data).toEqual({ commandId, productId, quantity: 2 });
    await management.deleteSchedule.execute(schedule.id);
    await job?.remove();
  });

  it('gives every run of a standing order an order id of its own', async () => {
    const userId = await registerUserThrough(infra.uow);
    const productId = await addProductThrough(infra.uow, 10);
    const schedule = await management.createSchedule.execute({
      name: 'weekly mugs',
      cron: '0 9 * * 1',
      timezone: 'Europe/Paris',
      command: { type: 'PlaceOrder', body: { userId, items: [{ productId, quantity: 1 }] } },
    });
    const process = scheduleTickProcessor(infra);
    const [a, b] = [Date.now(), Date.now() + 7 * 24 * 3600_000];

    await process(tick(schedule, a));
    await process(tick(schedule, b));

    const jobs = await Promise.all((await runsOf(schedule.id)).map((run) => infra.queues.commands.getJob(run.command_id)));
    const orderIds = jobs.map((job) => (job?.data as { orderId: string }).orderId);
    expect(new Set(orderIds).size).toBe(2);
    expect(orderIds[0]).toBe(derivedId('schedule-run', `repeat:${schedule.id}:${a}`, 'orderId'));
    await management.deleteSchedule.execute(schedule.id);
    for (const job of jobs) await job?.remove();
  });

  it('starts nothing for a schedule deleted in PostgreSQL, and removes the job scheduler left in Redis', async () => {
    const orphan: Schedule = {
      id: newId(),
      name: 'left behind',
      recurrence: { every: 3600 },
      command: { type: 'ConfirmOrder', body: { orderId: newId() } },
      createdAt: new Date(),
    };
    await new BullMqScheduler(infra.queues.commands).put(orphan);
    expect(await infra.queues.commands.getJobScheduler(orphan.id)).toBeDefined();

    const outcome = await scheduleTickProcessor(infra)(tick(orphan, Date.now()));

    expect(outcome).toMatchObject({ started: false });
    expect(await runsOf(orphan.id)).toEqual([]);
    expect(await infra.queues.commands.getJobScheduler(orphan.id)).toBeUndefined();
  });
});

describe('RestoreSchedules', () => {
  it('gives a schedule whose job scheduler Redis lost a new one, and leaves the others alone', async () => {
    const kept = await management.createSchedule.execute({
      name: 'kept',
      every: 3600,
      command: { type: 'ShipOrder', body: { orderId: newId() } },
    });
    const lost = await management.createSchedule.execute({
      name: 'lost',
      cron: '30 6 * * *',
      command: { type: 'ShipOrder', body: { orderId: newId() } },
    });
    const keptNext = (await management.getSchedule.execute(kept.id)).nextRunAt;
    await infra.queues.commands.removeJobScheduler(lost.id);
    expect((await management.getSchedule.execute(lost.id)).nextRunAt).toBeNull();

    const restore = scheduleRestorer(infra);
    expect(await restore.execute()).toBe(1);

    const restored = await management.getSchedule.execute(lost.id);
    expect(restored.nextRunAt?.toISOString()).toMatch(/T06:30:00\.000Z$/);
    expect((await management.getSchedule.execute(kept.id)).nextRunAt).toEqual(keptNext);
    expect(await restore.execute()).toBe(0);
    await management.deleteSchedule.execute(kept.id);
    await management.deleteSchedule.execute(lost.id);
  });
});
