import { AsyncLocalStorage } from 'node:async_hooks';

// What the command worker knows about the job whose command is running, handed to the unit of
// work through the async context, the way the trace context is: the use cases in between
// neither know nor care. The predecessor (docs/adr/0006-per-aggregate-ordering.md) gates the
// command; the attempt and the aggregate are written beside its outcome, for triage.

/** The command job being processed, as the unit of work sees it. */
export interface CommandJobContext {
  /** The command that must have an outcome before this one runs, if any. */
  after?: string | undefined;
  /** Which attempt of the job this is (1 for the first). */
  attempt?: number | undefined;
  /** The command's ordering key, `order:<id>`, `user:<id>` or `product:<id>`. */
  aggregate?: string | undefined;
  /** The API key that sent the command (its id and name), recorded beside its outcome. */
  sentBy?: { keyId: string; name: string } | undefined;
}

const jobContext = new AsyncLocalStorage<CommandJobContext>();

/** Runs `work` as the command of a job: its attempt and aggregate (and predecessor, if given). */
export function runCommandJob<T>(job: CommandJobContext, work: () => Promise<T>): Promise<T> {
  return jobContext.run({ ...jobContext.getStore(), ...job }, work);
}

/** Runs `work` for a command that may run only once `after` has an outcome. */
export function runAfter<T>(after: string | undefined, work: () => Promise<T>): Promise<T> {
  return after === undefined ? work() : runCommandJob({ after }, work);
}

/** The command job being processed, if any. */
export function currentCommandJob(): CommandJobContext | undefined {
  return jobContext.getStore();
}

/** The command that must have an outcome before the current one runs, if any. */
export function currentPredecessor(): string | undefined {
  return jobContext.getStore()?.after;
}

/**
 * Thrown by the unit of work, before the command has changed anything, when its predecessor
 * has no outcome yet. Not a domain error and not a failure: the command runs later.
 */
export class PredecessorPendingError extends Error {
  constructor(readonly predecessor: string) {
    super(`waiting for command ${predecessor}, accepted before it on the same aggregate`);
    this.name = 'PredecessorPendingError';
  }
}

/** What the gate needs of a recorded outcome. */
export interface GateOutcome {
  status: string;
  result: unknown;
}

/**
 * The command a command that comes after `after` still waits for, or undefined once it may run.
 * `outcomes` holds the recorded outcomes read for the gate (by `outcomesFollowingCancels`). A
 * predecessor with an outcome is done, unless it was cancelled while it was itself waiting in
 * line: then its place goes to the command it was waiting for (recorded with the cancel), so a
 * cancel in the middle of a line never lets the commands behind it overtake the ones before it
 * (docs/adr/0006-per-aggregate-ordering.md). A chain of cancels is followed to its end.
 */
export function pendingPredecessor(after: string, outcomes: ReadonlyMap<string, GateOutcome>): string | undefined {
  const seen = new Set<string>();
  for (let link = after; ; ) {
    const outcome = outcomes.get(link);
    if (!outcome) return link;
    const next = outcome.status === 'cancelled' ? cancelledBehind(outcome.result) : undefined;
    // A cycle cannot be built by intake; were one recorded, it would wait for ever.
    if (next === undefined || seen.has(next)) return undefined;
    seen.add(link);
    link = next;
  }
}

/** The command a cancelled command was waiting for, from its outcome's `result`. */
function cancelledBehind(result: unknown): string | undefined {
  const after = typeof result === 'object' && result !== null ? (result as { after?: unknown }).after : undefined;
  return typeof after === 'string' ? after : undefined;
}

/**
 * The commands whose outcomes `pendingPredecessor` needs beyond those in `outcomes`: the ones a
 * cancelled predecessor on the way from each of `afters` was waiting for, not read yet (and not
 * in `asked`, the ones read already and found without an outcome). None unless a command was
 * cancelled in the middle of a line, so the gate's usual read is all it takes.
 */
export function missingLinks(afters: readonly (string | undefined)[], outcomes: ReadonlyMap<string, GateOutcome>, asked: ReadonlySet<string>): string[] {
  const missing = new Set<string>();
  for (const after of afters) {
    if (after === undefined) continue;
    const seen = new Set<string>();
    for (let link = after; ; ) {
      const outcome = outcomes.get(link);
      if (!outcome) {
        if (link !== after && !asked.has(link)) missing.add(link);
        break;
      }
      const next = outcome.status === 'cancelled' ? cancelledBehind(outcome.result) : undefined;
      if (next === undefined || seen.has(next)) break;
      seen.add(link);
      link = next;
    }
  }
  return [...missing];
}
