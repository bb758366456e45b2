import { beforeEach, describe, expect, it } from 'vitest';
import { v4 as uuidv4, v7 as uuidv7 } from 'uuid';
import { encodeCursor } from '../../../../../src/application/commerce/triage/cursor.js';
import { InvalidCursorError, ListCommands, acceptedAtOf } from '../../../../../src/application/commerce/triage/list-commands.js';
import { InMemoryCommandRecords } from './fakes.js';

let records: InMemoryCommandRecords;
const at = (second: number) => new Date(Date.UTC(2026, 11, 2, 12, 0, second));

beforeEach(() => {
  records = new InMemoryCommandRecords();
});

describe('ListCommands', () => {
  it('walks every command once, newest first, ties broken by id, one page after another', async () => {
    // 120 commands over 12 seconds: ten share each second.
    for (let i = 0; i < 120; i += 1) records.add(uuidv7(), i % 4 === 0 ? 'gave_up' : 'succeeded', at(i % 12));
    const list = new ListCommands(records);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await list.execute({ filter: {}, limit: 25, cursor });
      seen.push(...page.items.map((item) => item.commandId));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual([...records.rows].sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime() || (a.commandId < b.commandId ? 1 : -1)).map((row) => row.commandId));
  });

  it('says there is no next page when the last one is exactly full', async () => {
    for (let i = 0; i < 10; i += 1) records.add(uuidv7(), 'failed', at(i));
    const page = await new ListCommands(records).execute({ filter: {}, limit: 10 });
    expect(page.items).toHaveLength(10);
    expect(page.nextCursor).toBeNull();
  });

  it('passes the filter on and keeps the limit between 1 and 100 (50 by default)', async () => {
    for (let i = 0; i < 150; i += 1) records.add(uuidv7(), i < 120 ? 'failed' : 'succeeded', at(i % 60));
    const list = new ListCommands(records);
    expect((await list.execute({ filter: { status: 'failed' } })).items).toHaveLength(50);
    expect((await list.execute({ filter: { status: 'failed' }, limit: 500 })).items).toHaveLength(100);
    expect((await list.execute({ filter: { status: 'succeeded' }, limit: 0 })).items).toHaveLength(1);
    expect((await list.execute({ filter: { status: 'succeeded' }, limit: 100 })).items.every((item) => item.status === 'succeeded')).toBe(true);
  });

  it('tells when the intake accepted each command, from its UUIDv7 id', async () => {
    const id = uuidv7({ msecs: Date.parse('2026-12-02T11:59:58.250Z') });
    records.add(id, 'succeeded', at(0));
    records.add(uuidv4(), 'succeeded', at(1));
    const { items } = await new ListCommands(records).execute({ filter: {} });
    expect(items.map((item) => item.acceptedAt?.toISOString() ?? null)).toEqual([null, '2026-12-02T11:59:58.250Z']);
    expect(acceptedAtOf(id)).toEqual(new Date('2026-12-02T11:59:58.250Z'));
  });

  it('refuses a cursor it did not write', async () => {
    await expect(new ListCommands(records).execute({ filter: {}, cursor: 'bogus!' })).rejects.toBeInstanceOf(InvalidCursorError);
    const valid = encodeCursor({ finishedAt: at(5), commandId: uuidv7() });
    await expect(new ListCommands(records).execute({ filter: {}, cursor: valid })).resolves.toEqual({ items: [], nextCursor: null });
  });
});
