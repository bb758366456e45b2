import { z } from 'zod';

// The Run-At request header of the command routes: when to run the command. Pure: no I/O.

/** How far ahead a command may be scheduled. */
export const MAX_RUN_AT_DAYS = 366;
const DAY_MS = 24 * 3600 * 1000;

// RFC 3339 §5.6 date-time: full-date "T" full-time, with a time zone (Z or ±hh:mm). "t" and
// "z" are allowed by the RFC too. Leap seconds (:60) are refused: no clock here can name one.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export const RUN_AT_SYNTAX = 'must be an RFC 3339 date-time with a time zone, e.g. 2027-01-31T09:00:00Z';

/** The instant an RFC 3339 date-time names (to the millisecond), or null if `value` is not one. */
export function parseRfc3339(value: string): Date | null {
  const match = DATE_TIME.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7];
  const [sign, offsetHours, offsetMinutes] = [match[9], Number(match[10] ?? 0), Number(match[11] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (offsetHours > 23 || offsetMinutes > 59) return null;
  // Day 31 of April and 29 February of a common year roll over into the next month: refused.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  const millis = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0..99 to 1900..1999; no Run-At is that old, so such a year is just past.
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return new Date(local - offset);
}

/** Why `runAt` cannot be a command's Run-At at `now`, or null when it can. */
export function runAtWindowProblem(runAt: Date, now: Date): string | null {
  if (runAt.getTime() <= now.getTime()) return 'must be in the future';
  if (runAt.getTime() - now.getTime() > MAX_RUN_AT_DAYS * DAY_MS) return `must be at most ${MAX_RUN_AT_DAYS} days ahead`;
  return null;
}

/** The header's schema: its syntax (the window depends on the time of the request, see runAtWindowProblem). */
export const runAtHeader = z
  .string()
  .refine((value) => parseRfc3339(value) !== null, RUN_AT_SYNTAX)
  .describe(
    `schedules the command: RFC 3339 date-time with a time zone, in the future and at most ${MAX_RUN_AT_DAYS} days ahead ` +
      '(e.g. 2027-01-31T09:00:00Z). The answer is 202 at once; the status is "scheduled" with its runAt until it is due.',
  );
