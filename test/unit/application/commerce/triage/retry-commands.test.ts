import { beforeEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { RetryCommands } from '../../../../../src/application/commerce/triage/retry-commands.js';
import type { ListedCommandStatus } from '../../../../../src/application/commerce/triage/ports.js';
import { FixedClock } from '../../../fakes/fixed-clock.js';
import { InMemoryCommandRecords, RecordingRequeue } from './fakes.js';

let records: InMemoryCommandRecords;
let queue: RecordingRequeue;
let retry: RetryCommands;
const clock = new FixedClock();
const at = (second: number) => new Date(Date.UTC(2026, 11, 2, 12, 0, second));

function seed(counts: Partial<Record<ListedCommandStatus, number>>): Record<ListedCommandStatus, string[]> {
  const ids: Record<ListedCommandStatus, string[]> = { succeeded: [], failed: [], cancelled: [], gave_up: [], retrying: [] };
  let second = 0;
  for (const [status, count] of Object.entries(counts) as [ListedCommandStatus, number][]) {
    for (let i = 0; i < count; i += 1) ids[status].push(records.add(uuidv7(), status, at(second++ % 60)).commandId);
  }
  return ids;
}

beforeEach(() => {
  records = new InMemoryCommandRecords();
  queue = new RecordingRequeue(records.calls);
  retry = new RetryCommands(records, queue, clock);
});

describe('RetryCommands', () => {
  it('re-queues the commands that gave up and skips the outcomes, domain failures included', async () => {
    const ids = seed({ succeeded: 4, failed: 3, gave_up: 5 });
    expect(await retry.execute({ filter: {}, dryRun: false })).toEqual({ matched: 12, retried: 5, skipped: 7, dryRun: false });
    expect(queue.requeued.sort()).toEqual([...ids.gave_up].sort());
    expect(records.rows.filter((row) => row.status === 'retrying').map((row) => row.retriedAt)).toEqual(Array(5).fill(clock.now()));
    // Each command's job is back before it is marked: a lost mark leaves a job in flight, never a mark without one.
    expect(records.calls.at(-1)).toBe('markRetried 5');
  });

  it('does not queue a command twice: a second retry skips the ones on their way again', async () => {
    seed({ gave_up: 3, failed: 1 });
    await retry.execute({ filter: {}, dryRun: false });
    expect(await retry.execute({ filter: {}, dryRun: false })).toEqual({ matched: 4, retried: 0, skipped: 4, dryRun: false });
    expect(queue.requeued).toHaveLength(3);
  });

  it('re-queues a command marked retrying whose job is gone again (Redis lost it)', async () => {
    const ids = seed({ retrying: 1 });
    expect(await retry.execute({ filter: { status: 'retrying' }, dryRun: false })).toMatchObject({ matched: 1, retried: 1 });
    expect(queue.requeued).toEqual(ids.retrying);
  });

  it('counts in a dry run what it would re-queue, and changes nothing', async () => {
    const ids = seed({ succeeded: 2, failed: 2, gave_up: 3 });
    queue.inFlight.add(ids.gave_up[0]!);
    expect(await retry.execute({ filter: {}, dryRun: true })).toEqual({ matched: 7, retried: 2, skipped: 5, dryRun: true });
    expect(queue.requeued).toEqual([]);
    expect(queue.asked.sort()).toEqual([...ids.gave_up].sort());
    expect(records.calls.filter((call) => call.startsWith('markRetried'))).toEqual([]);
    expect(records.rows.filter((row) => row.status === 'gave_up')).toHaveLength(3);
  });

  it('does not look for commands to re-queue when the filter names an outcome', async () => {
    seed({ failed: 3, gave_up: 2 });
    expect(await retry.execute({ filter: { status: 'failed' }, dryRun: false })).toEqual({ matched: 3, retried: 0, skipped: 3, dryRun: false });
    expect(records.calls).toEqual([]);
  });

  it('retries one command by its id', async () => {
    const ids = seed({ gave_up: 3 });
    const one = ids.gave_up[1]!;
    expect(await retry.execute({ filter: { commandId: one }, dryRun: false })).toEqual({ matched: 1, retried: 1, skipped: 0, dryRun: false });
    expect(queue.requeued).toEqual([one]);
  });

  it('walks any number of them in batches, each once', async () => {
    const ids = seed({ gave_up: 250, failed: 10 });
    expect(await retry.execute({ filter: {}, dryRun: false })).toEqual({ matched: 260, retried: 250, skipped: 10, dryRun: false });
    expect(new Set(queue.requeued).size).toBe(250);
    expect(queue.requeued.sort()).toEqual([...ids.gave_up].sort());
    expect(records.calls.filter((call) => call === 'gaveUp')).toHaveLength(3);
  });
});
