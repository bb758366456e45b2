import type { CommandEvents } from '../ports/command-control.js';
import { isSettled, statusSequence, transitions, type QueueSignal } from './command-status-events.js';
import type { CommandStatusDto, GetCommandStatus } from './get-command-status.js';

/** How a `follow` ended. */
export type FollowEnd = 'unknown' | 'settled' | 'stopped';

/** A status as a watcher reports it, with its number in the command's life (the SSE event id). */
export interface StatusChange {
  sequence: number;
  status: CommandStatusDto;
}

// When the queue says a command settled but the read does not show it yet (a read replica
// behind the primary), the read is tried again after these pauses.
const SETTLE_REREADS_MS = [20, 50, 100, 250, 500, 1000];

/**
 * Follows a command live: the status is read again (PostgreSQL, then the queue) whenever the
 * queue reports something about the command's job, from whichever process ran it. No polling:
 * an idle watcher costs a listener, nothing else.
 */
export class WatchCommand {
  /**
   * Reads in progress by command id, shared by the watchers of one command: a signal wakes all
   * of them at once, and one read answers them all (a second one would wait for a connection of
   * its own). `tick` counts signals (and subscriptions): a watcher joins only a read that started
   * after the last signal it got, so it never takes a read from before what it was told.
   */
  private readonly reads = new Map<string, { tick: number; read: Promise<CommandStatusDto | null> }>();
  private tick = 0;

  constructor(
    private readonly status: GetCommandStatus,
    private readonly events: CommandEvents,
  ) {}

  /**
   * Reports every status change of the command after the one numbered `after` (-1: from its
   * current status on), in order, through `report`; ends when the command settled, when
   * `stop` is aborted, or at once with 'unknown' for an id nobody knows.
   */
  async follow(commandId: string, after: number, report: (change: StatusChange) => void, stop: AbortSignal): Promise<FollowEnd> {
    const pending: QueueSignal[] = [];
    let wake: (() => void) | undefined;
    // Subscribed before the first read, so nothing that happens after the read is missed. The
    // subscription may take a moment to hold (the process's events reader starts with its first
    // watcher, and waits for Redis while Redis is away): the first read does not wait for it —
    // a settled command is answered at once — and one that is not settled is read again once
    // it holds.
    let told = ++this.tick;
    const subscribed = this.events.subscribe(commandId, (signal) => {
      told = ++this.tick;
      pending.push(signal);
      wake?.();
    });
    let unsubscribe: (() => void) | undefined;
    const onStop = () => wake?.();
    stop.addEventListener('abort', onStop);
    try {
      let last = after;
      let signals: QueueSignal[] = [];
      let rereads = 0;
      for (;;) {
        if (stop.aborted) return 'stopped';
        const current = await this.read(commandId, told);
        if (!current) return 'unknown';
        for (const status of transitions(last, signals, current)) {
          last = statusSequence(status);
          report({ sequence: last, status });
        }
        if (isSettled(current.status)) return 'settled';
        if (!unsubscribe) {
          unsubscribe = await unlessStopped(subscribed, stop);
          if (!unsubscribe) return 'stopped';
          told = ++this.tick; // a read from after the subscription held
          continue;
        }
        if (signals.includes('settled') && pending.length === 0 && rereads < SETTLE_REREADS_MS.length) {
          await pause(SETTLE_REREADS_MS[rereads++]!, stop);
          told = ++this.tick; // a fresh read, not one from before the pause
          continue;
        }
        if (pending.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
        signals = pending.splice(0);
      }
    } finally {
      stop.removeEventListener('abort', onStop);
      if (unsubscribe) unsubscribe();
      else void subscribed.then((late) => late(), () => undefined);
    }
  }

  /** The command's status, from a read that started at `tick` or later. */
  private read(commandId: string, tick: number): Promise<CommandStatusDto | null> {
    const shared = this.reads.get(commandId);
    if (shared && shared.tick >= tick) return shared.read;
    const read = this.status.execute(commandId);
    const entry = { tick: this.tick, read };
    this.reads.set(commandId, entry);
    const forget = () => {
      if (this.reads.get(commandId) === entry) this.reads.delete(commandId);
    };
    read.then(forget, forget);
    return read;
  }

  /**
   * The command's status once it settled, or its status when `timeoutMs` passed (or `stop` was
   * aborted) first; null for an id nobody knows.
   */
  async wait(commandId: string, timeoutMs: number, stop?: AbortSignal): Promise<CommandStatusDto | null> {
    const signals = [AbortSignal.timeout(Math.max(0, timeoutMs)), ...(stop ? [stop] : [])];
    let latest: CommandStatusDto | null = null;
    const end = await this.follow(commandId, -1, (change) => (latest = change.status), AbortSignal.any(signals));
    if (end === 'unknown') return null;
    if (end === 'settled') return latest;
    return (await this.status.execute(commandId)) ?? latest;
  }
}

/** `promise`'s value, or undefined as soon as `stop` is aborted (whichever comes first). */
function unlessStopped<T>(promise: Promise<T>, stop: AbortSignal): Promise<T | undefined> {
  if (stop.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    stop.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        stop.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        stop.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    }
    stop.addEventListener('abort', done, { once: true });
  });
}
