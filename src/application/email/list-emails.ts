import { pageLimit } from '../page-limit.js';
import type { EmailLog, EmailLogEntry, EmailLogFilter, EmailLogPosition } from './ports.js';

export const DEFAULT_EMAIL_PAGE = 50;
export const MAX_EMAIL_PAGE = 100;

export interface ListEmailsInput extends EmailLogFilter {
  /** Where the previous page ended (from its `next`); absent for the first page. */
  after?: EmailLogPosition | null | undefined;
  /** At most 100; default 50. */
  limit?: number | undefined;
}

export interface EmailPage {
  items: EmailLogEntry[];
  /** Where the next page starts; null when this page is the last. */
  next: EmailLogPosition | null;
}

/**
 * One page of the emails, newest first, optionally of one status, to one address, or created
 * since a time. Pages are cut by position (keyset), not by offset: an email created while a
 * client pages through is never listed twice and never shifts another off a page, and every
 * email that existed when the listing began is listed exactly once.
 */
export class ListEmails {
  constructor(private readonly log: EmailLog) {}

  async execute(input: ListEmailsInput): Promise<EmailPage> {
    const limit = pageLimit(input.limit, DEFAULT_EMAIL_PAGE, MAX_EMAIL_PAGE);
    const filter: EmailLogFilter = { status: input.status, to: input.to, since: input.since };
    // One row more than the page says whether another page follows.
    const rows = await this.log.list(filter, input.after ?? null, limit + 1);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }
}
