// Ports of retention. Adapter: PgRetentionStore (src/infrastructure/retention).

/** The kinds of records retention deletes, in the order a run deletes them. */
export const RETENTION_KINDS = [
  'emails',
  'webhookDeliveries',
  'outbox',
  'processedCommands',
  'gaveUpCommands',
  'scheduleRuns',
] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

/** The tables rows are deleted from: the kinds' own, and webhook_delivery_attempts with their deliveries. */
export const RETAINED_TABLES = [
  'email_messages',
  'webhook_deliveries',
  'webhook_delivery_attempts',
  'outbox_messages',
  'processed_commands',
  'gave_up_commands',
  'schedule_runs',
] as const;
export type RetainedTable = (typeof RETAINED_TABLES)[number];

/**
 * Where a walk over a kind's expired rows goes on: the store's own object, passed back as it
 * was given.
 */
export type WalkPosition = object;

export interface PrunedBatch {
  /** Rows deleted, by table. */
  deleted: Partial<Record<RetainedTable, number>>;
  /** Where the next batch starts; null once the walk has passed every candidate. */
  next: WalkPosition | null;
}

export interface RetentionStore {
  /**
   * Runs `run` while holding the one retention lock of the database, or returns null at once
   * (without running it) when another process holds it.
   */
  exclusively<T>(run: () => Promise<T>): Promise<T | null>;
  /**
   * Deletes, in one short statement, those of the next `limit` candidate rows of `kind` (oldest
   * first, from `after`) that have expired by `cutoff` and are not locked by anyone else.
   */
  pruneBatch(kind: RetentionKind, cutoff: Date, after: WalkPosition | null, limit: number): Promise<PrunedBatch>;
}
