import type { QueueSignal } from '../queries/command-status-events.js';

// Ports of what a client may do with a command after intake: cancel it, and follow it live.

/** The outcome a command ended with; `cancelled` is recorded before it ran. */
export type CommandOutcome = 'succeeded' | 'failed' | 'cancelled';

/** The durable outcomes of commands (processed_commands, on the primary). */
export interface CommandOutcomes {
  /**
   * Records `cancelled` as the command's outcome unless it already has one, atomically, and
   * returns the outcome that stands: `cancelled` if this call (or an earlier cancel) won, the
   * worker's outcome if the command ran first. `after` is the command it was waiting for on its
   * aggregate (per-aggregate ordering): recorded with the cancel, so the commands behind it
   * still wait for that one rather than overtaking it (docs/adr/0006-per-aggregate-ordering.md).
   * `sentBy` is the API key that sent it, recorded as the unit of work records it for a command
   * that ran.
   */
  cancel(command: { commandId: string; commandType: string } & QueuedCommandFields, at: Date): Promise<CommandOutcome>;
}

/** What a command's job carries besides its payload. */
export interface QueuedCommandFields {
  /** The command it waits for on its aggregate (per-aggregate ordering), if any. */
  after?: string | undefined;
  /** The API key that sent it (its id and name), if one did. */
  sentBy?: { keyId: string; name: string } | undefined;
}

/** The command's job on the queue. */
export interface CommandQueue {
  /**
   * Removes the command's job unless a worker holds it: false then (and the job stays), true
   * otherwise (also when there was no job). A job left behind is harmless once the outcome is
   * recorded: the unit of work refuses it.
   */
  remove(commandId: string): Promise<boolean>;
  /** What the command's job carries besides its payload: its predecessor and its sender (none without a job). */
  fieldsOf(commandId: string): Promise<QueuedCommandFields>;
  /**
   * Wakes the commands of the same aggregate parked behind this one, once it has an outcome
   * without having run (cancelled). Best effort: a parked command also looks again by itself
   * within seconds.
   */
  wakeSuccessors(commandId: string): Promise<void>;
}

/**
 * What the queue reports about commands' jobs, from every process (Redis, not process memory):
 * one subscription per process, fanned out to however many watchers it has.
 */
export interface CommandEvents {
  /**
   * Calls `listener` with each signal about the command's job until the returned function is
   * called. Resolves once every signal from then on will reach it (the events may only start
   * being read for the first watcher), so a status read after it misses nothing.
   */
  subscribe(commandId: string, listener: (signal: QueueSignal) => void): Promise<() => void>;
}
