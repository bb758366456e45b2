import type { Repositories } from './repositories.js';

/** JSON that a command outcome may hold (stored in processed_commands). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface CommandContext {
  /** Assigned at intake; the unit of work applies a command id's effect at most once. */
  readonly commandId: string;
  readonly commandType: string;
  /**
   * The product rows the work will lock, when the command knows them up front: by id
   * (`products`), or as the products of existing orders (`productsOfOrders`, for a command that
   * learns them from the order it changes). A unit of work that runs several commands in one
   * transaction may lock all of theirs first, in one order, so that two such transactions wait
   * for each other instead of deadlocking. The work still locks what it uses; this only lets the
   * unit of work take it earlier.
   */
  readonly locks?: { readonly products?: readonly string[]; readonly productsOfOrders?: readonly string[] };
  /**
   * The users the work will read, when the command knows them up front. A unit of work that
   * runs several commands in one transaction may read them, and the products in `locks`, for
   * all of its commands at once. The work still asks for what it uses; this only lets the unit
   * of work read it earlier.
   */
  readonly reads?: { readonly users?: readonly string[] };
}

/**
 * Runs one command in one database transaction. Within it, the work's changes, one outbox
 * row per domain event the aggregates recorded, and a processed-command row for the command
 * id are committed together. Running a command id that was already processed changes nothing
 * and returns the first outcome (or throws the first failure again as a DomainError).
 */
export interface UnitOfWork {
  run<R extends Json>(command: CommandContext, work: (repos: Repositories) => Promise<R>): Promise<R>;
}
