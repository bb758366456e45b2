import { describe, expect, it } from 'vitest';
import type { PrunedBatch, RetentionKind, RetentionStore, WalkPosition } from '../../../../src/application/retention/ports.js';
import { PruneExpiredRecords, type RetentionAges } from '../../../../src/application/retention/prune-expired-records.js';
import { FixedClock } from '../../fakes/fixed-clock.js';

const TABLES = {
  emails: 'email_messages',
  webhookDeliveries: 'webhook_deliveries',
  outbox: 'outbox_messages',
  processedCommands: 'processed_commands',
  gaveUpCommands: 'gave_up_commands',
  scheduleRuns: 'schedule_runs',
} as const;

/** A store whose candidates are numbered rows per kind; `holds` says which of them stay. */
class FakeRetentionStore implements RetentionStore {
  readonly calls: { kind: RetentionKind; cutoff: Date; after: WalkPosition | null; limit: number }[] = [];
  locked = false;

  constructor(
    private readonly candidates: Partial<Record<RetentionKind, number>>,
    private readonly holds: (kind: RetentionKind, row: number) => boolean = () => false,
  ) {}

  async exclusively<T>(run: () => Promise<T>): Promise<T | null> {
    return this.locked ? null : run();
  }

  async pruneBatch(kind: RetentionKind, cutoff: Date, after: WalkPosition | null, limit: number): Promise<PrunedBatch> {
    this.calls.push({ kind, cutoff, after, limit });
    const from = (after as { row: number } | null)?.row ?? 0;
    const to = Math.min(from + limit, this.candidates[kind] ?? 0);
    let deleted = 0;
    for (let row = from; row < to; row++) if (!this.holds(kind, row)) deleted += 1;
    return {
      deleted: { [TABLES[kind]]: deleted, ...(kind === 'webhookDeliveries' ? { webhook_delivery_attempts: deleted * 2 } : {}) },
      next: to - from === limit ? { row: to } : null,
    };
  }
}

const DAY = 86_400_000;
const ages: RetentionAges = {
  emails: 30 * DAY,
  webhookDeliveries: 20 * DAY,
  outbox: 10 * DAY,
  processedCommands: 40 * DAY,
  gaveUpCommands: 50 * DAY,
  scheduleRuns: 15 * DAY,
};
const now = new Date('2026-12-02T12:00:00.000Z');
const prune = (store: RetentionStore, options: Partial<ConstructorParameters<typeof PruneExpiredRecords>[3]> = {}) =>
  new PruneExpiredRecords(store, ages, new FixedClock(now), { batchSize: 10, ...options });

describe('PruneExpiredRecords', () => {
  it('deletes emails and deliveries before the outbox, then outcomes, give-ups and schedule runs, each from its own cutoff', async () => {
    const store = new FakeRetentionStore({ emails: 1, webhookDeliveries: 1, outbox: 1, processedCommands: 1, gaveUpCommands: 1, scheduleRuns: 1 });
    const report = await prune(store).execute();
    expect(store.calls.map(({ kind, cutoff }) => [kind, (now.getTime() - cutoff.getTime()) / DAY])).toEqual([
      ['emails', 30],
      ['webhookDeliveries', 20],
      ['outbox', 10],
      ['processedCommands', 40],
      ['gaveUpCommands', 50],
      ['scheduleRuns', 15],
    ]);
    expect(report).toMatchObject({ deleted: { gave_up_commands: 1, schedule_runs: 1 } });
  });

  it('walks a kind in batches until the store says the walk is over, going on from where each batch ended', async () => {
    const store = new FakeRetentionStore({ processedCommands: 2345, outbox: 25 }, (kind, row) => kind === 'outbox' && row < 20);
    const counted: [string, number][] = [];
    const report = await prune(store, { batchSize: 1000, onDeleted: (table, rows) => counted.push([table, rows]) }).execute();
    expect(store.calls.filter((call) => call.kind === 'processedCommands').map((call) => call.after)).toEqual([
      null,
      { row: 1000 },
      { row: 2000 },
    ]);
    expect(report).toMatchObject({
      outcome: 'completed',
      deleted: { processed_commands: 2345, outbox_messages: 5, email_messages: 0 },
    });
    expect(counted).toEqual([
      ['outbox_messages', 5],
      ['processed_commands', 1000],
      ['processed_commands', 1000],
      ['processed_commands', 345],
    ]);
  });

  it('counts the attempts deleted with their deliveries', async () => {
    const report = await prune(new FakeRetentionStore({ webhookDeliveries: 3 })).execute();
    expect(report).toMatchObject({ deleted: { webhook_deliveries: 3, webhook_delivery_attempts: 6 } });
  });

  it('does nothing while another run holds the lock', async () => {
    const store = new FakeRetentionStore({ emails: 5 });
    store.locked = true;
    await expect(prune(store).execute()).resolves.toEqual({ outcome: 'skipped' });
    expect(store.calls).toEqual([]);
  });

  it('ends a run after the batch in progress once the process stops', async () => {
    const stopping = new AbortController();
    const store = new FakeRetentionStore({ emails: 50 });
    const pruneBatch = store.pruneBatch.bind(store);
    store.pruneBatch = async (...args) => {
      const batch = await pruneBatch(...args);
      if (store.calls.length === 2) stopping.abort();
      return batch;
    };
    const report = await prune(store, { signal: stopping.signal }).execute();
    expect(report).toMatchObject({ outcome: 'stopped', deleted: { email_messages: 20 }, batches: 2 });
  });
});
