import { describe, expect, it } from 'vitest';
import { ListEmails } from '../../../../src/application/email/list-emails.js';
import type { EmailLog, EmailLogEntry, EmailLogFilter, EmailLogPosition } from '../../../../src/application/email/ports.js';

/** The log's contract on an array: newest first by (createdAt, id), strictly after `after`. */
class ArrayEmailLog implements EmailLog {
  readonly calls: { filter: EmailLogFilter; after: EmailLogPosition | null; limit: number }[] = [];
  constructor(readonly rows: EmailLogEntry[]) {}

  async list(filter: EmailLogFilter, after: EmailLogPosition | null, limit: number): Promise<EmailLogEntry[]> {
    this.calls.push({ filter, after, limit });
    const key = (row: { createdAt: Date; id: string }) => `${row.createdAt.toISOString()} ${row.id}`;
    return this.rows
      .filter((row) => filter.status === undefined || row.status === filter.status)
      .filter((row) => !after || key(row) < key(after))
      .sort((a, b) => key(b).localeCompare(key(a)))
      .slice(0, limit);
  }
}

function entry(n: number, status: EmailLogEntry['status'] = 'sent'): EmailLogEntry {
  const id = `01936a5e-7c1d-7000-8000-${String(n).padStart(12, '0')}`;
  return {
    id,
    eventId: id,
    messageId: `<${id}@conveyor.local>`,
    template: 'welcome',
    to: `user${n}@example.com`,
    subject: 'Welcome',
    status,
    attempts: 1,
    lastResponse: '250 Ok',
    // Two rows per millisecond: the id breaks the ties.
    createdAt: new Date(Date.UTC(2026, 11, 1, 0, 0, 0, Math.floor(n / 2))),
    sentAt: null,
    finishedAt: null,
    nextAttemptAt: null,
  };
}

describe('ListEmails', () => {
  it('pages through every email once, newest first, and says when the last page is reached', async () => {
    const log = new ArrayEmailLog(Array.from({ length: 7 }, (_, n) => entry(n)));
    const list = new ListEmails(log);
    const seen: string[] = [];
    let page = await list.execute({ limit: 3 });
    seen.push(...page.items.map((item) => item.id));
    while (page.next) {
      page = await list.execute({ limit: 3, after: page.next });
      seen.push(...page.items.map((item) => item.id));
    }
    expect(seen).toEqual(Array.from({ length: 7 }, (_, n) => entry(6 - n).id));
    expect(log.calls.map((call) => call.limit)).toEqual([4, 4, 4]);
  });

  it('has no next page when the last page is exactly full', async () => {
    const list = new ListEmails(new ArrayEmailLog([entry(1), entry(2)]));
    await expect(list.execute({ limit: 2 })).resolves.toMatchObject({ next: null });
  });

  it('passes the filter on and keeps the limit within 1..100', async () => {
    const log = new ArrayEmailLog([entry(1, 'failed'), entry(2, 'sent')]);
    const list = new ListEmails(log);
    const page = await list.execute({ status: 'failed', limit: 1000 });
    expect(page.items.map((item) => item.status)).toEqual(['failed']);
    expect(log.calls[0]).toMatchObject({ filter: { status: 'failed' }, limit: 101 });
    await list.execute({ limit: 0 });
    expect(log.calls[1]?.limit).toBe(2);
  });
});
