import { beforeEach, describe, expect, it } from 'vitest';
import { CommandNotCancellableError, CommandNotFoundError } from '../../../../src/application/commerce/errors.js';
import { GetCommandStatus } from '../../../../src/application/commerce/queries/get-command-status.js';
import { WatchCommand, type StatusChange } from '../../../../src/application/commerce/queries/watch-command.js';
import { CancelCommand } from '../../../../src/application/commerce/use-cases/cancel-command.js';
import { FakeCommandEvents, FakeCommandJobs, FakeCommandRecords } from '../../fakes/command-tracking.js';
import { FixedClock } from '../../fakes/fixed-clock.js';

const ID = '01930000-0000-7000-8000-000000000001';
const RUN_AT = '2025-03-15T09:00:00.000Z';

let records: FakeCommandRecords;
let jobs: FakeCommandJobs;
let events: FakeCommandEvents;
let status: GetCommandStatus;

beforeEach(() => {
  records = new FakeCommandRecords();
  jobs = new FakeCommandJobs();
  events = new FakeCommandEvents();
  status = new GetCommandStatus(records, jobs);
});

describe('GetCommandStatus', () => {
  it('is scheduled with its runAt while the delayed job waits for its time', async () => {
    jobs.put(ID, 'scheduled', 0, RUN_AT);
    expect(await status.execute(ID)).toEqual({ commandId: ID, type: 'RegisterUser', status: 'scheduled', attempts: 0, runAt: RUN_AT });
  });

  it('is cancelled, with no attempt, once the cancel is recorded, whatever the job says', async () => {
    jobs.put(ID, 'failed', 1);
    records.settle(ID, 'RegisterUser', 'cancelled');
    expect(await status.execute(ID)).toEqual({ commandId: ID, type: 'RegisterUser', status: 'cancelled', attempts: 0 });
  });

  it('is scheduled from the PostgreSQL record when Redis lost the job', async () => {
    records.scheduled.set(ID, { commandId: ID, type: 'PlaceOrder', runAt: RUN_AT });
    expect(await status.execute(ID)).toEqual({ commandId: ID, type: 'PlaceOrder', status: 'scheduled', attempts: 0, runAt: RUN_AT });
  });

  it('prefers the outcome and then the job to the Run-At record', async () => {
    records.scheduled.set(ID, { commandId: ID, type: 'RegisterUser', runAt: RUN_AT });
    jobs.put(ID, 'running', 1);
    expect((await status.execute(ID))?.status).toBe('running');
    records.settle(ID, 'RegisterUser', 'succeeded', { userId: 'u' });
    expect(await status.execute(ID)).toMatchObject({ status: 'succeeded', result: { userId: 'u' } });
  });

  it('is null when nothing knows the id', async () => {
    expect(await status.execute(ID)).toBeNull();
  });
});

describe('CancelCommand', () => {
  const clock = new FixedClock();
  let cancel: CancelCommand;
  beforeEach(() => {
    cancel = new CancelCommand(status, records, jobs, clock);
  });

  it.each(['queued', 'scheduled'] as const)('cancels a %s command: the outcome is recorded and the job removed', async (state) => {
    jobs.put(ID, state, 0, state === 'scheduled' ? RUN_AT : null);
    expect(await cancel.execute(ID)).toEqual({ commandId: ID, type: 'RegisterUser', status: 'cancelled', attempts: 0 });
    expect(records.processed.get(ID)?.status).toBe('cancelled');
    expect(jobs.removed).toEqual([ID]);
    // The commands of its aggregate parked behind it need not wait for their next look.
    expect(jobs.woken).toEqual([ID]);
    expect((await status.execute(ID))?.status).toBe('cancelled');
  });

  it('records the command a cancelled one was waiting for in line, so the commands behind it wait for that one', async () => {
    const PREDECESSOR = '01930000-0000-7000-8000-000000000000';
    jobs.put(ID, 'queued');
    jobs.predecessors.set(ID, PREDECESSOR);
    await cancel.execute(ID);
    expect(records.processed.get(ID)).toMatchObject({ status: 'cancelled', result: { after: PREDECESSOR } });
    expect(jobs.woken).toEqual([ID]);
  });

  it('keeps who sent it on record once its job is gone', async () => {
    jobs.put(ID, 'queued');
    jobs.senders.set(ID, { keyId: 'key-1', name: 'shop' });
    expect(await cancel.execute(ID)).toMatchObject({ status: 'cancelled', sentBy: 'shop' });
    expect(jobs.jobs.has(ID)).toBe(false);
    expect(await status.execute(ID)).toMatchObject({ status: 'cancelled', sentBy: 'shop' });
  });

  it('answers the same for a command cancelled already', async () => {
    jobs.put(ID, 'queued');
    await cancel.execute(ID);
    expect((await cancel.execute(ID)).status).toBe('cancelled');
  });

  it.each([
    ['running', () => jobs.put(ID, 'running', 1)],
    ['succeeded', () => records.settle(ID, 'RegisterUser', 'succeeded')],
    ['failed', () => records.settle(ID, 'RegisterUser', 'failed')],
  ] as const)('refuses a %s command and says so', async (state, arrange) => {
    arrange();
    const error = await cancel.execute(ID).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommandNotCancellableError);
    expect(error).toMatchObject({ code: 'command_not_cancellable', status: state });
    expect(records.processed.get(ID)?.status).not.toBe('cancelled');
  });

  it('refuses an unknown command', async () => {
    await expect(cancel.execute(ID)).rejects.toBeInstanceOf(CommandNotFoundError);
  });

  it('reports the outcome that won when the worker committed between the read and the cancel', async () => {
    jobs.put(ID, 'queued');
    const racing = new CancelCommand(
      status,
      {
        cancel: async () => {
          records.settle(ID, 'RegisterUser', 'succeeded');
          return 'succeeded';
        },
      },
      jobs,
      clock,
    );
    await expect(racing.execute(ID)).rejects.toMatchObject({ status: 'succeeded' });
    expect(jobs.removed).toEqual([]);
    expect(jobs.woken).toEqual([]);
  });

  it('stays cancelled when the job cannot be removed (a worker holds it, or Redis is away)', async () => {
    jobs.put(ID, 'queued');
    const away = () => Promise.reject(new Error('Connection is closed.'));
    const stuck = new CancelCommand(status, records, { remove: away, wakeSuccessors: away, fieldsOf: async () => ({}) }, clock);
    expect((await stuck.execute(ID)).status).toBe('cancelled');
  });
});

describe('WatchCommand', () => {
  let watch: WatchCommand;
  beforeEach(() => {
    watch = new WatchCommand(status, events);
  });

  /** Lets the watcher's pending reads run. */
  const settleMicrotasks = () => new Promise((resolve) => setTimeout(resolve, 5));

  it('reports every change in order and ends after the final one', async () => {
    jobs.put(ID, 'scheduled', 0, RUN_AT);
    const seen: StatusChange[] = [];
    const following = watch.follow(ID, -1, (change) => seen.push(change), new AbortController().signal);
    await settleMicrotasks();
    jobs.put(ID, 'queued');
    events.signal(ID, 'queued');
    await settleMicrotasks();
    // The job started and finished before the watcher read it again: it still reports running.
    jobs.put(ID, 'succeeded', 1);
    records.settle(ID, 'RegisterUser', 'succeeded', { userId: 'u' });
    events.signal(ID, 'running');
    events.signal(ID, 'settled');
    expect(await following).toBe('settled');
    expect(seen.map((change) => [change.sequence, change.status.status])).toEqual([
      [0, 'scheduled'],
      [1, 'queued'],
      [2, 'running'],
      [3, 'succeeded'],
    ]);
    expect(seen[3]?.status.result).toEqual({ userId: 'u' });
    expect(events.subscribers(ID)).toBe(0);
  });

  it('starts after the Last-Event-ID it is given', async () => {
    records.settle(ID, 'RegisterUser', 'succeeded');
    const seen: StatusChange[] = [];
    expect(await watch.follow(ID, 3, (change) => seen.push(change), new AbortController().signal)).toBe('settled');
    expect(seen).toEqual([]);
  });

  it('says unknown for an id nobody knows', async () => {
    expect(await watch.follow(ID, -1, () => undefined, new AbortController().signal)).toBe('unknown');
  });

  it('stops when asked, and unsubscribes', async () => {
    jobs.put(ID, 'queued');
    const stop = new AbortController();
    const following = watch.follow(ID, -1, () => undefined, stop.signal);
    await settleMicrotasks();
    expect(events.subscribers(ID)).toBe(1);
    stop.abort();
    expect(await following).toBe('stopped');
    expect(events.subscribers(ID)).toBe(0);
  });

  it('stops when asked before its subscription holds, and drops the subscription once it does', async () => {
    jobs.put(ID, 'queued');
    const open = events.holdSubscriptions();
    const stop = new AbortController();
    const seen: string[] = [];
    const following = watch.follow(ID, -1, (change) => seen.push(change.status.status), stop.signal);
    await settleMicrotasks();
    // The first read did not wait for the subscription.
    expect(seen).toEqual(['queued']);
    stop.abort();
    expect(await following).toBe('stopped');
    expect(events.subscribers(ID)).toBe(1);
    open();
    await settleMicrotasks();
    expect(events.subscribers(ID)).toBe(0);
  });

  it('answers a settled command at once while its subscription does not hold (Redis away)', async () => {
    jobs.put(ID, 'running', 1);
    records.settle(ID, 'RegisterUser', 'succeeded');
    events.holdSubscriptions();
    const seen: string[] = [];
    // Never stopped: it ends only by reading the outcome.
    expect(await watch.follow(ID, -1, (change) => seen.push(change.status.status), new AbortController().signal)).toBe('settled');
    expect(seen).toEqual(['succeeded']);
  });

  it('reads again once its subscription holds: a command that settled meanwhile, with no signal, is seen', async () => {
    jobs.put(ID, 'running', 1);
    const open = events.holdSubscriptions();
    const seen: string[] = [];
    const following = watch.follow(ID, -1, (change) => seen.push(change.status.status), new AbortController().signal);
    await settleMicrotasks();
    expect(seen).toEqual(['running']);
    // It settles before the subscription holds: no listener could be told.
    records.settle(ID, 'RegisterUser', 'succeeded');
    open();
    expect(await following).toBe('settled');
    expect(seen).toEqual(['running', 'succeeded']);
  });

  it('wait answers as soon as the command settles', async () => {
    jobs.put(ID, 'running', 1);
    const started = Date.now();
    const waiting = watch.wait(ID, 10_000);
    await settleMicrotasks();
    records.settle(ID, 'RegisterUser', 'failed');
    events.signal(ID, 'settled');
    expect(await waiting).toMatchObject({ status: 'failed', error: { code: 'insufficient_stock' } });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('answers every watcher of a command woken by one signal with one read', async () => {
    jobs.put(ID, 'running', 1);
    let reads = 0;
    const counting = { execute: (commandId: string) => (reads++, status.execute(commandId)) } as GetCommandStatus;
    const shared = new WatchCommand(counting, events);
    const waits = [shared.wait(ID, 5_000), shared.wait(ID, 5_000), shared.wait(ID, 5_000)];
    await settleMicrotasks();
    const before = reads;
    records.settle(ID, 'RegisterUser', 'succeeded');
    events.signal(ID, 'settled');
    expect((await Promise.all(waits)).map((result) => result?.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(reads - before).toBe(1);
  });

  it('never answers a watcher with a read that started before it subscribed', async () => {
    jobs.put(ID, 'running', 1);
    let release: () => void = () => undefined;
    let calls = 0;
    const firstHeld = {
      execute: async (commandId: string) => {
        const current = await status.execute(commandId);
        if (calls++ === 0) await new Promise<void>((resolve) => (release = resolve));
        return current;
      },
    } as GetCommandStatus;
    const watching = new WatchCommand(firstHeld, events);
    const first = watching.wait(ID, 5_000); // its read (running) is held
    await settleMicrotasks();
    records.settle(ID, 'RegisterUser', 'succeeded');
    // A second watcher comes after the outcome: the held read is too old for it.
    const started = Date.now();
    expect(await watching.wait(ID, 5_000)).toMatchObject({ status: 'succeeded' });
    expect(Date.now() - started).toBeLessThan(1000);
    release();
    events.signal(ID, 'settled');
    expect(await first).toMatchObject({ status: 'succeeded' });
  });

  it('wait answers with the status as it is when the time is up', async () => {
    jobs.put(ID, 'queued');
    expect(await watch.wait(ID, 50)).toMatchObject({ status: 'queued' });
  });

  it('wait reads again when the queue says settled before the outcome can be read (a lagging replica)', async () => {
    jobs.put(ID, 'succeeded', 1);
    const waiting = watch.wait(ID, 5_000);
    await settleMicrotasks();
    events.signal(ID, 'settled');
    await settleMicrotasks();
    records.settle(ID, 'RegisterUser', 'succeeded');
    expect(await waiting).toMatchObject({ status: 'succeeded' });
  });
});
