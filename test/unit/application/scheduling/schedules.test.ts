import { beforeEach, describe, expect, it } from 'vitest';
import { CreateSchedule, type ScheduledCommandCheck } from '../../../../src/application/scheduling/create-schedule.js';
import { DeleteSchedule } from '../../../../src/application/scheduling/delete-schedule.js';
import { GetSchedule } from '../../../../src/application/scheduling/get-schedule.js';
import { ListScheduleRuns } from '../../../../src/application/scheduling/list-schedule-runs.js';
import { ListSchedules } from '../../../../src/application/scheduling/list-schedules.js';
import { RestoreSchedules } from '../../../../src/application/scheduling/restore-schedules.js';
import { StartScheduledRun } from '../../../../src/application/scheduling/start-scheduled-run.js';
import { recurrenceProblems, type Schedule } from '../../../../src/application/scheduling/schedule.js';
import { FixedClock } from '../../fakes/fixed-clock.js';
import { domainRejectionOf } from '../../support/errors.js';
import { newId } from '../../support/ids.js';
import { InMemoryScheduler, InMemorySchedules } from './fakes.js';

const clock = new FixedClock('2025-03-14T09:26:53.000Z');
const command = { type: 'RestockProduct', body: { productId: newId(), quantity: 5 } };
/** The contract's check, as the composition root hands it in: here, only RestockProduct is schedulable. */
const check: ScheduledCommandCheck = (c) => (c.type === 'RestockProduct' ? null : `type: ${c.type} cannot be scheduled`);

let store: InMemorySchedules;
let scheduler: InMemoryScheduler;
let create: CreateSchedule;

beforeEach(() => {
  store = new InMemorySchedules();
  scheduler = new InMemoryScheduler();
  create = new CreateSchedule(store, scheduler, check, newId, clock);
});

describe('recurrenceProblems', () => {
  it.each([
    [{ every: 1 }],
    [{ every: 366 * 86400 }],
    [{ cron: '*/5 * * * *' }],
    [{ cron: '0 9 * * MON-FRI', timezone: 'America/New_York' }],
    [{ cron: '0 0 L * *', timezone: 'UTC' }],
  ])('accepts %o', (input) => {
    expect(recurrenceProblems(input)).toEqual([]);
  });

  it.each([
    [{}, 'every', /exactly one/],
    [{ every: 60, cron: '* * * * *' }, 'cron', /exactly one/],
    [{ every: 0 }, 'every', /whole seconds from 1/],
    [{ every: 2.5 }, 'every', /whole seconds/],
    [{ every: 366 * 86400 + 1 }, 'every', /31622400/],
    [{ every: 60, timezone: 'UTC' }, 'timezone', /cron expression only/],
    [{ cron: '0 9 * * *', timezone: 'Atlantis/Capital' }, 'timezone', /unknown time zone/],
    [{ cron: '0 9 * *' }, 'cron', /5 fields .* got 4/],
    [{ cron: '0 0 9 * * *' }, 'cron', /5 fields .* got 6/],
    [{ cron: '@hourly' }, 'cron', /5 fields/],
    [{ cron: '0 25 * * *' }, 'cron', /not a valid cron expression/],
    [{ cron: '0 0 31 4 *' }, 'cron', /not a valid cron expression/],
  ])('refuses %o at %s', (input, field, message) => {
    const problems = recurrenceProblems(input);
    expect(problems.map((problem) => problem.field)).toContain(field);
    expect(problems.find((problem) => problem.field === field)?.message).toMatch(message);
  });
});

describe('CreateSchedule', () => {
  it('keeps the schedule in the repository and gives it a job scheduler, the repository first', async () => {
    const schedule = await create.execute({ name: '  restock  ', every: 60, command });

    expect(schedule).toEqual({ id: expect.any(String), name: 'restock', recurrence: { every: 60 }, command, createdAt: clock.now() });
    expect(await store.find(schedule.id)).toEqual(schedule);
    expect(scheduler.held.get(schedule.id)?.schedule).toEqual(schedule);
    expect(scheduler.calls).toEqual([`put ${schedule.id}`]);
  });

  it('reads a cron expression in UTC unless told otherwise, with its white space folded', async () => {
    const utc = await create.execute({ name: 'n', cron: ' 0  9 * * 1-5 ', command });
    const paris = await create.execute({ name: 'n', cron: '0 9 * * 1-5', timezone: 'Europe/Paris', command });

    expect(utc.recurrence).toEqual({ cron: '0 9 * * 1-5', timezone: 'UTC' });
    expect(paris.recurrence).toEqual({ cron: '0 9 * * 1-5', timezone: 'Europe/Paris' });
  });

  it.each([
    [{ name: '', every: 60, command }, /name/],
    [{ name: 'x'.repeat(201), every: 60, command }, /name/],
    [{ name: 'n', every: 0, command }, /every/],
    [{ name: 'n', cron: '61 * * * *', command }, /cron/],
    [{ name: 'n', every: 60, command: { type: 'RegisterUser', body: {} } }, /command: type: RegisterUser cannot be scheduled/],
  ])('refuses %o with invalid_schedule and keeps nothing', async (input, message) => {
    const error = await domainRejectionOf(create.execute(input));

    expect(error.code).toBe('invalid_schedule');
    expect(error.message).toMatch(message);
    expect(store.schedules.size).toBe(0);
    expect(scheduler.calls).toEqual([]);
  });

  it('takes the schedule back out of the repository when Redis refuses its job scheduler', async () => {
    scheduler.down = new Error('Connection is closed.');

    await expect(create.execute({ name: 'n', every: 60, command })).rejects.toThrow('Connection is closed.');

    expect(store.schedules.size).toBe(0);
  });

  it('gives no job scheduler to a schedule the repository could not keep', async () => {
    store.failNextAdd = new Error('connection refused');

    await expect(create.execute({ name: 'n', every: 60, command })).rejects.toThrow('connection refused');

    expect(scheduler.calls).toEqual([]);
  });
});

describe('reading and deleting schedules', () => {
  it('lists and gets schedules with their next run, null for one no job scheduler holds', async () => {
    const held = await create.execute({ name: 'held', every: 60, command });
    const lost = await create.execute({ name: 'lost', every: 60, command });
    scheduler.held.delete(lost.id);

    const list = await new ListSchedules(store, scheduler).execute();

    expect(list.map((view) => [view.name, view.nextRunAt])).toEqual([
      ['held', new Date('2025-03-14T09:27:00.000Z')],
      ['lost', null],
    ]);
    expect(await new GetSchedule(store, scheduler).execute(held.id)).toEqual({ ...held, nextRunAt: new Date('2025-03-14T09:27:00.000Z') });
    expect((await domainRejectionOf(new GetSchedule(store, scheduler).execute(newId()))).code).toBe('schedule_not_found');
  });

  it('deletes the schedule, then its job scheduler; schedule_not_found for an unknown one', async () => {
    const schedule = await create.execute({ name: 'n', every: 60, command });
    const remove = new DeleteSchedule(store, scheduler);

    await remove.execute(schedule.id);

    expect(store.schedules.size).toBe(0);
    expect(scheduler.held.size).toBe(0);
    expect((await domainRejectionOf(remove.execute(schedule.id))).code).toBe('schedule_not_found');
  });

  it('counts a schedule deleted once its row is gone, even when Redis cannot remove its job scheduler now', async () => {
    const schedule = await create.execute({ name: 'n', every: 60, command });
    scheduler.down = new Error('Connection is closed.');

    await new DeleteSchedule(store, scheduler).execute(schedule.id);

    expect(store.schedules.size).toBe(0);
  });

  it('lists the runs newest first, at most `limit`, and refuses an unknown schedule', async () => {
    const schedule = await create.execute({ name: 'n', every: 60, command });
    for (let minute = 0; minute < 5; minute++) {
      await store.record({ scheduleId: schedule.id, commandId: newId(), dueAt: new Date(Date.UTC(2025, 2, 14, 10, minute)) });
    }
    const list = new ListScheduleRuns(store);

    const runs = await list.execute({ scheduleId: schedule.id, limit: 3 });

    expect(runs.map((run) => run.dueAt.getUTCMinutes())).toEqual([4, 3, 2]);
    expect(await list.execute({ scheduleId: schedule.id })).toHaveLength(5);
    expect((await domainRejectionOf(list.execute({ scheduleId: newId() }))).code).toBe('schedule_not_found');
  });
});

describe('StartScheduledRun', () => {
  let sent: string[];
  let start: StartScheduledRun<string>;
  let schedule: Schedule;

  beforeEach(async () => {
    sent = [];
    start = new StartScheduledRun<string>(store, scheduler, { send: async (c) => void sent.push(c) });
    schedule = await create.execute({ name: 'n', every: 60, command });
  });

  it('records the run under its schedule and queues its command', async () => {
    const commandId = newId();
    const dueAt = new Date('2025-03-14T09:27:00.000Z');

    const outcome = await start.execute({ scheduleId: schedule.id, commandId, dueAt, command: 'the command' });

    expect(outcome).toEqual({ commandId, started: true });
    expect([...store.runLog.values()]).toEqual([{ scheduleId: schedule.id, commandId, dueAt }]);
    expect(sent).toEqual(['the command']);
  });

  it('records a tick delivered twice once, and queues the same command again (one job: its id is the command id)', async () => {
    const input = { scheduleId: schedule.id, commandId: newId(), dueAt: clock.now(), command: 'the command' };

    await start.execute(input);
    await start.execute(input);

    expect(store.runLog.size).toBe(1);
    expect(sent).toEqual(['the command', 'the command']);
  });

  it('starts nothing for a schedule that was deleted, and removes its job scheduler', async () => {
    store.schedules.delete(schedule.id);

    const outcome = await start.execute({ scheduleId: schedule.id, commandId: newId(), dueAt: clock.now(), command: 'the command' });

    expect(outcome.started).toBe(false);
    expect(sent).toEqual([]);
    expect(store.runLog.size).toBe(0);
    expect(scheduler.held.has(schedule.id)).toBe(false);
  });

  it('queues nothing when the run cannot be recorded (the tick is retried)', async () => {
    const failing = new StartScheduledRun<string>(
      { record: async () => Promise.reject(new Error('connection refused')) },
      scheduler,
      { send: async (c) => void sent.push(c) },
    );

    await expect(failing.execute({ scheduleId: schedule.id, commandId: newId(), dueAt: clock.now(), command: 'x' })).rejects.toThrow();

    expect(sent).toEqual([]);
  });
});

describe('RestoreSchedules', () => {
  it('gives every schedule without a job scheduler a new one, and leaves the others alone', async () => {
    const held = await create.execute({ name: 'held', every: 60, command });
    const lost = await create.execute({ name: 'lost', cron: '0 9 * * *', command });
    scheduler.held.delete(lost.id);
    scheduler.calls.length = 0;
    const restore = new RestoreSchedules(store, scheduler);

    expect(await restore.execute()).toBe(1);

    expect(scheduler.calls).toEqual([`put ${lost.id}`]);
    expect([...scheduler.held.keys()].sort()).toEqual([held.id, lost.id].sort());
    expect(await restore.execute()).toBe(0);
  });
});
