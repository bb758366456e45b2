import { pageLimit } from '../../page-limit.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { CommandFilter, CommandRecords, ListedCommand } from './ports.js';

export const DEFAULT_COMMAND_PAGE = 50;
export const MAX_COMMAND_PAGE = 100;

export interface ListCommandsInput {
  filter: CommandFilter;
  /** 1 to 100; default 50. */
  limit?: number | undefined;
  /** The `nextCursor` of the page before; none for the first page. */
  cursor?: string | undefined;
}

export interface CommandListItem extends ListedCommand {
  /** When the intake accepted it: the time in its UUIDv7 command id (null for another kind of id). */
  acceptedAt: Date | null;
}

export interface CommandPage {
  items: CommandListItem[];
  /** Where the next page starts; null on the last page. */
  nextCursor: string | null;
}

/** Raised for a cursor this API did not write (the HTTP schema refuses it first: 400). */
export class InvalidCursorError extends RangeError {
  constructor() {
    super('cursor is not one this API returned');
    this.name = 'InvalidCursorError';
  }
}

/**
 * One page of the commands an operator triages, newest first by when they finished: those
 * with a recorded outcome (`succeeded`, `failed`: a domain failure, final) and those that
 * `gave_up` after their retries on infrastructure errors (`retrying` once re-queued).
 * - keyset pagination: `nextCursor` names the last command of the page, and the next page
 *   starts strictly after it, so a walk returns each command once while others are added;
 * - a command whose state changes during a walk (given up, then retried and succeeded) moves
 *   to its new place and may be seen twice or not at all; commands that stay put are seen once.
 */
export class ListCommands {
  constructor(private readonly records: Pick<CommandRecords, 'list'>) {}

  async execute(input: ListCommandsInput): Promise<CommandPage> {
    const limit = pageLimit(input.limit, DEFAULT_COMMAND_PAGE, MAX_COMMAND_PAGE);
    const after = input.cursor === undefined ? null : decodeCursor(input.cursor);
    if (input.cursor !== undefined && !after) throw new InvalidCursorError();
    // One more than the page: whether there is a next page, without a count.
    const rows = await this.records.list(input.filter, after, limit + 1);
    const items = rows.slice(0, limit).map((row) => ({ ...row, acceptedAt: acceptedAtOf(row.commandId) }));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }
}

/** The millisecond timestamp of a UUIDv7 (its first 48 bits), or null for any other id. */
export function acceptedAtOf(commandId: string): Date | null {
  if (commandId[14] !== '7') return null;
  return new Date(Number.parseInt(commandId.slice(0, 8) + commandId.slice(9, 13), 16));
}
