import { CronExpressionParser } from 'cron-parser';
import { InvalidScheduleError } from './errors.js';

// A recurring schedule (docs/adr/0007-recurring-schedules-and-order-expiry.md): a command that
// runs again and again, every N seconds or on a cron expression. Its rules are here; BullMQ's
// job schedulers run it, and PostgreSQL keeps its definition.

export const MAX_SCHEDULE_NAME_LENGTH = 200;
export const MAX_CRON_LENGTH = 200;
/** The shortest `every`: one run a second. */
export const MIN_EVERY_SECONDS = 1;
/** The longest `every`: a year and a day. */
export const MAX_EVERY_SECONDS = 366 * 24 * 3600;
/** The time zone of a cron expression that names none: the same on every host, whatever its own. */
export const DEFAULT_TIMEZONE = 'UTC';

export type Recurrence = { every: number } | { cron: string; timezone: string };

/**
 * The command each run sends. Its type and body are checked against the queue contract at
 * creation (by the check the composition root hands `CreateSchedule`) and again at every run.
 */
export interface ScheduledCommand {
  type: string;
  body: Record<string, unknown>;
}

export interface Schedule {
  id: string;
  name: string;
  recurrence: Recurrence;
  command: ScheduledCommand;
  createdAt: Date;
}

/** A schedule as the API shows it: with its next run, null while no scheduler holds it (see RestoreSchedules). */
export interface ScheduleView extends Schedule {
  nextRunAt: Date | null;
}

/** One run a schedule started: its command (followed like any other) and the tick it is for. */
export interface ScheduleRun {
  scheduleId: string;
  commandId: string;
  dueAt: Date;
}

export interface RecurrenceInput {
  every?: number | undefined;
  cron?: string | undefined;
  timezone?: string | undefined;
}

export interface RecurrenceProblem {
  field: 'every' | 'cron' | 'timezone';
  message: string;
}

/**
 * What is wrong with a recurrence, field by field (empty when nothing is):
 * - exactly one of `every` and `cron`;
 * - `every`: whole seconds from 1 to 366 days;
 * - `cron`: five fields (minute hour day-of-month month day-of-week), which the same parser
 *   BullMQ runs schedules with must accept and which must fire at least once more (not
 *   "30 February");
 * - `timezone`: an IANA zone such as "Europe/Paris", for a cron expression only (default UTC).
 */
export function recurrenceProblems(input: RecurrenceInput): RecurrenceProblem[] {
  const problems: RecurrenceProblem[] = [];
  const { every, cron, timezone } = input;
  if ((every === undefined) === (cron === undefined)) {
    const message = 'give exactly one of "every" (seconds) and "cron" (a 5-field cron expression)';
    return [{ field: every === undefined ? 'every' : 'cron', message }];
  }
  if (every !== undefined && (!Number.isInteger(every) || every < MIN_EVERY_SECONDS || every > MAX_EVERY_SECONDS)) {
    problems.push({ field: 'every', message: `must be whole seconds from ${MIN_EVERY_SECONDS} to ${MAX_EVERY_SECONDS}` });
  }
  if (timezone !== undefined) {
    if (every !== undefined) problems.push({ field: 'timezone', message: 'a time zone applies to a cron expression only' });
    else if (!isTimeZone(timezone)) problems.push({ field: 'timezone', message: `unknown time zone "${timezone}" (use an IANA name such as "Europe/Paris")` });
  }
  if (cron !== undefined) {
    const problem = cronProblem(cron, timezone !== undefined && isTimeZone(timezone) ? timezone : DEFAULT_TIMEZONE);
    if (problem) problems.push({ field: 'cron', message: problem });
  }
  return problems;
}

/** The recurrence, or `invalid_schedule` naming the first problem. */
export function parseRecurrence(input: RecurrenceInput): Recurrence {
  const [problem] = recurrenceProblems(input);
  if (problem) throw new InvalidScheduleError(`${problem.field}: ${problem.message}`);
  if (input.every !== undefined) return { every: input.every };
  return { cron: (input.cron ?? '').trim().replace(/\s+/g, ' '), timezone: input.timezone ?? DEFAULT_TIMEZONE };
}

/** The schedule's name, trimmed, or `invalid_schedule`. */
export function parseScheduleName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_SCHEDULE_NAME_LENGTH) {
    throw new InvalidScheduleError(`name: must be 1 to ${MAX_SCHEDULE_NAME_LENGTH} characters`);
  }
  return trimmed;
}

function cronProblem(cron: string, timezone: string): string | null {
  if (cron.length > MAX_CRON_LENGTH) return `must be at most ${MAX_CRON_LENGTH} characters`;
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}: "${cron}"`;
  }
  try {
    CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date() }).next();
    return null;
  } catch (error) {
    return `not a valid cron expression: ${(error as Error).message}`;
  }
}

function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return timezone.length > 0;
  } catch {
    return false;
  }
}
