import type { Clock } from '../clock.js';
import { RETAINED_TABLES, RETENTION_KINDS, type RetainedTable, type RetentionKind, type RetentionStore, type WalkPosition } from './ports.js';

/** How old each kind of record may get once it is settled, in milliseconds. */
export type RetentionAges = { readonly [K in RetentionKind]: number };

export interface PruneOptions {
  /** Candidate rows per statement; each statement holds its row locks only while it runs. */
  batchSize: number;
  /** Called after each batch with the rows it deleted from a table (the Prometheus counter). */
  onDeleted?: (table: RetainedTable, rows: number) => void;
  /** Aborted when the process stops: the run ends after the batch in progress. */
  signal?: AbortSignal | undefined;
}

/** What one run deleted, by table; `skipped` when another run held the lock. */
export type PruneReport =
  | { outcome: 'skipped' }
  | { outcome: 'completed' | 'stopped'; deleted: Record<RetainedTable, number>; batches: number };

/**
 * Deletes the records that have outlived their retention (docs/adr/0010-retention.md):
 * - emails: sent or failed, and settled longer ago than `emails` (a resent email counts from
 *   its last settling; one settled before that was recorded, from its creation);
 * - webhook deliveries: delivered or failed, created and last attempted longer ago than
 *   `webhookDeliveries`; their attempts go with them;
 * - outbox rows: published longer ago than `outbox`, with no pending delivery and no email
 *   row left (an email is rendered from its event at every send, a resend too);
 * - processed commands: processed longer ago than `processedCommands` (the configuration
 *   refuses an age shorter than the longest a job of the command can still run);
 * - commands that gave up (the triage list): gave up, and were last retried, longer ago than
 *   `gaveUpCommands` (the configuration refuses an age shorter than the commands queue's failed
 *   jobs stay in Redis, from which the sweeper would copy them back);
 * - runs of schedules: recorded longer ago than `scheduleRuns` (the schedule stays, and so do
 *   its runs' commands' outcomes until their own retention);
 * - nothing pending is ever deleted.
 * In that order, so the events that emails and deliveries held go in the same run. Each kind
 * is walked oldest first in batches of `batchSize`, each batch one short statement that skips
 * rows locked by someone else; the ages are turned into cutoffs once, when the run starts.
 * At most one run at a time across every process: a run that finds another holding the lock
 * does nothing.
 */
export class PruneExpiredRecords {
  constructor(
    private readonly store: RetentionStore,
    private readonly ages: RetentionAges,
    private readonly clock: Clock,
    private readonly options: PruneOptions,
  ) {}

  async execute(): Promise<PruneReport> {
    const report = await this.store.exclusively(() => this.run());
    return report ?? { outcome: 'skipped' };
  }

  private async run(): Promise<PruneReport> {
    const now = this.clock.now().getTime();
    const deleted = Object.fromEntries(RETAINED_TABLES.map((table) => [table, 0])) as Record<RetainedTable, number>;
    let batches = 0;
    for (const kind of RETENTION_KINDS) {
      const cutoff = new Date(now - this.ages[kind]);
      let position: WalkPosition | null = null;
      do {
        if (this.options.signal?.aborted) return { outcome: 'stopped', deleted, batches };
        const batch = await this.store.pruneBatch(kind, cutoff, position, this.options.batchSize);
        batches += 1;
        for (const [table, rows] of Object.entries(batch.deleted) as [RetainedTable, number][]) {
          deleted[table] += rows;
          if (rows > 0) this.options.onDeleted?.(table, rows);
        }
        position = batch.next;
      } while (position !== null);
    }
    return { outcome: 'completed', deleted, batches };
  }
}
