import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../../../src/application/commerce/triage/cursor.js';

const position = { finishedAt: new Date('2026-12-02T13:00:00.123Z'), commandId: '0193a5b0-0000-7000-8000-000000000001' };
const raw = (text: string) => Buffer.from(text).toString('base64url');

describe('the command listing cursor', () => {
  it('is URL-safe text that decodes to the position it was made from', () => {
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('keeps the millisecond, so the next page starts exactly after the last row', () => {
    const cursor = encodeCursor({ ...position, finishedAt: new Date('2026-12-02T13:00:00.001Z') });
    expect(decodeCursor(cursor)?.finishedAt.toISOString()).toBe('2026-12-02T13:00:00.001Z');
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', raw('hello')],
    ['an object', raw(JSON.stringify({ at: position.finishedAt.toISOString(), id: position.commandId }))],
    ['a third element', raw(JSON.stringify([position.finishedAt.toISOString(), position.commandId, 1]))],
    ['no date', raw(JSON.stringify(['yesterday', position.commandId]))],
    ['a date in another form', raw(JSON.stringify(['2026-12-02T13:00:00Z', position.commandId]))],
    ['a number for the date', raw(JSON.stringify([1, position.commandId]))],
    ['no UUID', raw(JSON.stringify([position.finishedAt.toISOString(), "1' or '1'='1"]))],
    ['an upper-case UUID', raw(JSON.stringify([position.finishedAt.toISOString(), position.commandId.toUpperCase()]))],
    ['too long', 'A'.repeat(201)],
  ])('is refused when it is %s', (_, cursor) => {
    expect(decodeCursor(cursor)).toBeNull();
  });
});
