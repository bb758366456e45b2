// Command triage: the commands an operator looks through (those with a recorded outcome, and
// those that gave up after their retries) and re-queues. Adapters: PgCommandRecords
// (src/infrastructure/triage) and BullMqCommandRequeue (src/infrastructure/queue).

/**
 * What a listed command came to:
 * - `succeeded`, `failed`, `cancelled`: its recorded outcome (processed_commands), final — a
 *   failure is a domain error, and running it again would fail the same way; a cancelled
 *   command never runs;
 * - `gave_up`: its job ran out of attempts on infrastructure errors, so it has no outcome;
 * - `retrying`: it gave up and an operator re-queued it; it has no outcome yet.
 * Commands still queued or running for the first time are not listed (GET /v1/commands/{id},
 * Bull Board).
 */
export const LISTED_COMMAND_STATUSES = ['succeeded', 'failed', 'cancelled', 'gave_up', 'retrying'] as const;
export type ListedCommandStatus = (typeof LISTED_COMMAND_STATUSES)[number];

/** The statuses a retry re-queues; the others are skipped. */
export const RETRYABLE_STATUSES: readonly ListedCommandStatus[] = ['gave_up', 'retrying'];

/** Which commands a listing or a retry is about; every field narrows it. */
export interface CommandFilter {
  commandId?: string | undefined;
  status?: ListedCommandStatus | undefined;
  /** The command type, e.g. PlaceOrder. */
  type?: string | undefined;
  /** The code of its error (a domain error's, or `infrastructure_error` for one that gave up). */
  errorCode?: string | undefined;
  /** Finished at or after. */
  since?: Date | undefined;
  /** Finished before. */
  until?: Date | undefined;
}

/**
 * A place in the listing's order: newest first by when the command finished (its outcome was
 * recorded, or it gave up), then by command id, descending. The order is total, so a walk from
 * one position to the next sees each command once, however many are added meanwhile.
 */
export interface CommandPosition {
  finishedAt: Date;
  commandId: string;
}

export interface ListedCommand extends CommandPosition {
  type: string;
  status: ListedCommandStatus;
  /**
   * Attempts its jobs made, those before a retry included; null for outcomes recorded before
   * conveyor kept count.
   */
  attempts: number | null;
  error: { code: string; message: string } | null;
  /** Its ordering key (`order:<id>`, `user:<id>`, `product:<id>`); null likewise. */
  aggregate: string | null;
  /** When an operator last re-queued it, if ever. */
  retriedAt: Date | null;
}

/** A command that gave up, with what is needed to queue it again. */
export interface GaveUpCommandRecord extends CommandPosition {
  type: string;
  /** Its job's data, for a job Redis no longer has. */
  payload: Record<string, unknown>;
}

export interface CommandRecords {
  /** Up to `limit` listed commands matching `filter`, in the listing's order, after `after` (exclusive). */
  list(filter: CommandFilter, after: CommandPosition | null, limit: number): Promise<ListedCommand[]>;
  /** How many listed commands match `filter`. */
  count(filter: CommandFilter): Promise<number>;
  /** Up to `limit` commands that gave up (retried or not) matching `filter`, in the listing's order, after `after`. */
  gaveUp(filter: CommandFilter, after: CommandPosition | null, limit: number): Promise<GaveUpCommandRecord[]>;
  /** Records that these commands were re-queued at `at` (their status becomes `retrying`). */
  markRetried(commandIds: readonly string[], at: Date): Promise<void>;
}

export interface CommandRequeue {
  /**
   * Puts the command back on the queue under its own command id (the job id), with a fresh
   * attempt budget: its failed job again if the queue still has it, else a new job from the
   * stored payload. False when its job is already waiting, running or done: nothing is added,
   * so a command is never queued twice.
   */
  requeue(command: GaveUpCommandRecord): Promise<boolean>;
  /** Whether `requeue` would put it back now; reads only (a dry run). */
  canRequeue(command: GaveUpCommandRecord): Promise<boolean>;
}
