import { z } from 'zod';

// Opaque keyset cursors for the listing routes: base64url of the JSON of the last listed row's
// sort key. Clients pass them back as they got them; a position is never an offset, so rows
// added meanwhile cannot shift a page.

/** The sort key a page ended at: a time and, to break ties, the row's id. */
export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

const MAX_CURSOR_LENGTH = 200;

const payload = z.strictObject({
  t: z.iso.datetime({ offset: true }),
  i: z.uuid(),
});

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify({ t: position.createdAt.toISOString(), i: position.id })).toString('base64url');
}

/** The position a cursor names, or null when the text is not a cursor this API gave out. */
export function decodeCursor(text: string): KeysetPosition | null {
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = payload.safeParse(json);
  return parsed.success ? { createdAt: new Date(parsed.data.t), id: parsed.data.i.toLowerCase() } : null;
}

/** A `cursor` query parameter: decoded, or a 400 naming it. */
export const cursorParam = () =>
  z
    .string()
    .transform((text, ctx) => {
      const position = decodeCursor(text);
      if (!position) {
        ctx.addIssue({ code: 'custom', message: 'not a cursor this API gave out: pass back a nextCursor as it was received' });
        return z.NEVER;
      }
      return position;
    })
    .describe('nextCursor of the previous page, as it was received; absent for the first page');
