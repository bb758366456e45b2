import type { CommandStatus, CommandStatusDto } from './get-command-status.js';

// The life of a command as a sequence of status changes, for the live status routes
// (GET /v1/commands/:id?wait= and its Server-Sent Events stream). Pure: no I/O.

/**
 * `gave_up` ends a watch too: nothing more happens to the command unless an operator retries it
 * (then it is queued again, with a higher event id).
 */
export const SETTLED_STATUSES: readonly CommandStatus[] = ['succeeded', 'failed', 'cancelled', 'gave_up'];

/** A command in one of these statuses never changes again. */
export function isSettled(status: CommandStatus): boolean {
  return SETTLED_STATUSES.includes(status);
}

/**
 * What the queue said happened to a command's job, as far as a watcher cares: it waits to run
 * (`queued`), waits for a time (`delayed`: its Run-At, or a retry's backoff), started an
 * attempt (`running`), or reached an end (`settled`: completed, failed or removed; the outcome
 * itself is read from PostgreSQL).
 */
export type QueueSignal = 'queued' | 'delayed' | 'running' | 'settled';

/**
 * The position of a status in a command's life, strictly increasing along every transition a
 * command can make: scheduled → queued → running → (queued → running)* → succeeded | failed,
 * and cancelled from scheduled or queued. It depends on the status and attempt count alone, so
 * every web replica numbers a command's events alike: it is the SSE event id, and a client
 * reconnecting with `Last-Event-ID: n` gets only the statuses numbered above n.
 *
 * With `a` attempts started: scheduled 4a, queued 4a + 1, running 4(a - 1) + 2 (the a-th
 * attempt), settled 4(a - 1) + 3 (after the a-th attempt; 3 when none ran).
 */
export function statusSequence(status: Pick<CommandStatusDto, 'status' | 'attempts'>): number {
  const attempts = Math.max(0, status.attempts);
  const after = Math.max(0, attempts - 1);
  switch (status.status) {
    case 'scheduled':
      return 4 * attempts;
    case 'queued':
      return 4 * attempts + 1;
    case 'running':
      return 4 * after + 2;
    case 'succeeded':
    case 'failed':
    case 'cancelled':
    case 'gave_up':
      return 4 * after + 3;
  }
}

/**
 * The statuses a watcher reports, in order, after the queue signalled `signals` and the command
 * was then read as `current`, when the last one it reported is numbered `after` (-1 for none).
 *
 * A read comes after the fact: a command that ran in a few milliseconds may already read as
 * succeeded when the watcher handles the signal that it started. The transition each signal
 * stands for is then reported first, so a client sees every change in order: `running`
 * (signalled, attempt `current.attempts`) and `queued` (signalled before the attempt
 * `current.attempts` started), each only where it falls between what was reported and `current`.
 */
export function transitions(after: number, signals: readonly QueueSignal[], current: CommandStatusDto): CommandStatusDto[] {
  const currentSequence = statusSequence(current);
  const passed: CommandStatusDto[] = [];
  let last = after;
  for (const signal of signals) {
    const implied = impliedBy(signal, current);
    if (!implied) continue;
    const sequence = statusSequence(implied);
    if (sequence > last && sequence < currentSequence) {
      passed.push(implied);
      last = sequence;
    }
  }
  if (currentSequence > last) passed.push(current);
  return passed;
}

function impliedBy(signal: QueueSignal, current: CommandStatusDto): CommandStatusDto | null {
  const { commandId, type, attempts } = current;
  if (current.status === 'cancelled') return null; // a cancelled command never ran
  switch (signal) {
    case 'running':
      return attempts >= 1 ? { commandId, type, status: 'running', attempts } : null;
    case 'queued':
      return { commandId, type, status: 'queued', attempts: current.status === 'queued' ? attempts : Math.max(0, attempts - 1) };
    case 'delayed':
    case 'settled':
      return null;
  }
}
