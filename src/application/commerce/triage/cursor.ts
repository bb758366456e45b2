import type { CommandPosition } from './ports.js';

// The cursor of the command listing: opaque to clients, base64url of the position of the last
// command of a page, `[finishedAt (ISO 8601, ms), commandId]` as JSON. Keyset pagination: the
// next page starts strictly after that position, so it neither repeats nor skips a command
// when new ones are recorded in between.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Far longer than any cursor this writes; a longer one is refused unread. */
export const MAX_CURSOR_LENGTH = 200;

export function encodeCursor(position: CommandPosition): string {
  return Buffer.from(JSON.stringify([position.finishedAt.toISOString(), position.commandId])).toString('base64url');
}

/** The position a cursor names, or null when it is not one this API wrote. */
export function decodeCursor(cursor: string): CommandPosition | null {
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [at, commandId] = value as unknown[];
  if (typeof at !== 'string' || typeof commandId !== 'string' || !UUID.test(commandId)) return null;
  const finishedAt = new Date(at);
  // Only the exact form encodeCursor writes: a round trip gives the same text back.
  if (Number.isNaN(finishedAt.getTime()) || finishedAt.toISOString() !== at) return null;
  return { finishedAt, commandId };
}
