import { DelayedError, Job, type Queue, type Worker } from 'bullmq';
import type { Logger } from '../logger.js';
import type { RedisConnection } from '../redis/connection.js';
import { PredecessorPendingError, runAfter } from '../ordering/predecessor.js';

// Per-aggregate FIFO on BullMQ OSS, Redis and PostgreSQL (docs/adr/0006-per-aggregate-ordering.md).
//
// Intake: one Lua script per command swaps the command id into its key's `tail` and returns
// the id it replaced, the command's predecessor, which goes into the job data as `after`.
// Worker: the unit of work runs a command only once its predecessor has an outcome in
// processed_commands (PredecessorPendingError otherwise, before anything changed); an early
// command parks itself as a delayed job, listed in its predecessor's `waiters` set, and the
// predecessor promotes its waiters once it has its final outcome. A parked command also
// wakes up every few seconds by itself and looks again, so a lost wake-up costs seconds,
// never the command.

/**
 * KEYS[1] the key's ordering hash, KEYS[2] the command's job hash, KEYS[3] the command's place
 * record. ARGV[1] the command id, ARGV[2] the time to live of the hash and of the record in
 * seconds. Returns the predecessor's id, '' for none, or nil when the job already exists (a
 * retried intake: the job keeps the predecessor it has).
 *
 * The place record keeps the predecessor a command got until the command has its final
 * outcome (`release` deletes it, in the script it runs anyway; while the job exists the
 * EXISTS check answers first). A retry of a command whose add failed (a 503: Redis went away between the
 * two steps) gets the same predecessor back, even when later commands took their places behind
 * it meanwhile: placed again at the tail it would wait for its own successor, which waits for
 * it — a cycle that held the rest of the key's line for ever.
 */
const TAKE_PLACE_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return nil end
local placed = redis.call('GET', KEYS[3])
if placed then return placed end
local tail = redis.call('HGET', KEYS[1], 'tail')
if tail == ARGV[1] then return redis.call('HGET', KEYS[1], 'before') or '' end
redis.call('HSET', KEYS[1], 'tail', ARGV[1], 'before', tail or '')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3], tail or '', 'EX', ARGV[2])
return tail or ''
`;

/**
 * KEYS[1] the key's ordering hash. ARGV[1] the command id, ARGV[2] the hash's time to live in
 * seconds. Starts the line of an aggregate whose id the command's own request assigned: nothing
 * can be ahead of it, so nothing needs to be read back. HSETNX: a retried intake (whose line
 * started the first time, perhaps with later commands behind it by now) leaves the line as it is.
 */
const START_LINE_LUA = `
if redis.call('HSETNX', KEYS[1], 'tail', ARGV[1]) == 1 then redis.call('HSET', KEYS[1], 'before', '') end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS: per command, its waiters set then its place record. Returns, per command, the members
 * of its set, and deletes the set and the record: the commands parked behind it, each to be
 * promoted once; the place record is no longer needed either. One call serves every command
 * that ended in the same turn of the event loop (a group of the unit of work commits and
 * settles its commands together): one round trip for the group instead of one per command.
 */
const TAKE_WAITERS_LUA = `
local taken = {}
for i = 1, #KEYS, 2 do
  local waiting = redis.call('SMEMBERS', KEYS[i])
  if #waiting > 0 then redis.call('DEL', KEYS[i]) end
  redis.call('DEL', KEYS[i + 1])
  taken[#taken + 1] = waiting
end
return taken
`;

interface OrderingScripts {
  conveyorTakePlace(orderingKey: string, jobKey: string, placeKey: string, commandId: string, ttl: number): Promise<string | null>;
  conveyorStartLine(orderingKey: string, commandId: string, ttl: number): Promise<number>;
  /** `numberOfKeys` first: two keys per command. */
  conveyorTakeWaiters(numberOfKeys: number, ...keys: string[]): Promise<string[][]>;
}
const scripted = new WeakSet<RedisConnection>();

/**
 * How many predecessors one attempt looks at in Redis before it parks: the gate names another
 * only when a cancel moved the line back in between, so a second look is already rare.
 */
const MAX_LOOKS = 3;

/** The connection with the ordering's scripts defined on it (once per connection). */
function scripts(redis: RedisConnection): OrderingScripts {
  if (!scripted.has(redis)) {
    redis.defineCommand('conveyorTakePlace', { numberOfKeys: 3, lua: TAKE_PLACE_LUA });
    redis.defineCommand('conveyorStartLine', { numberOfKeys: 1, lua: START_LINE_LUA });
    redis.defineCommand('conveyorTakeWaiters', { lua: TAKE_WAITERS_LUA });
    scripted.add(redis);
  }
  return redis as unknown as OrderingScripts;
}

/** Redis keys of the ordering, under the queue's prefix (one hash slot with a hash-tagged prefix). */
export function orderingKeys(queue: Pick<Queue, 'toKey'>) {
  return {
    tail: (orderingKey: string) => queue.toKey(`ordering:${orderingKey}`),
    waiters: (commandId: string) => queue.toKey(`ordering-waiters:${commandId}`),
    /** The predecessor a command got, kept until it has its final outcome (TAKE_PLACE_LUA). */
    place: (commandId: string) => queue.toKey(`ordering-place:${commandId}`),
  };
}

/**
 * Puts a command last in line on its ordering key and returns its predecessor (undefined for
 * none). `ttlSeconds` must outlive every job of the key still in Redis: a key whose hash
 * expired starts a new line.
 */
export async function takePlaceInLine(
  redis: RedisConnection,
  queue: Pick<Queue, 'toKey'>,
  orderingKey: string,
  commandId: string,
  ttlSeconds: number,
): Promise<string | undefined> {
  const keys = orderingKeys(queue);
  const predecessor = await scripts(redis).conveyorTakePlace(keys.tail(orderingKey), queue.toKey(commandId), keys.place(commandId), commandId, ttlSeconds);
  return predecessor ? predecessor : undefined;
}

/**
 * Starts the line of a new aggregate with its first command (no predecessor). Unlike
 * takePlaceInLine its answer is not needed to build the job, so the caller sends it together
 * with the job's add: one round trip instead of two.
 */
export async function startLine(
  redis: RedisConnection,
  queue: Pick<Queue, 'toKey'>,
  orderingKey: string,
  commandId: string,
  ttlSeconds: number,
): Promise<void> {
  await scripts(redis).conveyorStartLine(orderingKeys(queue).tail(orderingKey), commandId, ttlSeconds);
}

/**
 * Wakes the commands parked behind `commandId` (and forgets its place record), for a command
 * that will never run: cancelled before it started. The worker's `release` does the same for a
 * command that ran. Resolves with how many were parked; each is promoted once (one already
 * running, or gone, is left as it is).
 */
export async function wakeWaiters(redis: RedisConnection, queue: Queue, commandId: string): Promise<number> {
  const keys = orderingKeys(queue);
  const [waiting = []] = await scripts(redis).conveyorTakeWaiters(2, keys.waiters(commandId), keys.place(commandId));
  await Promise.all(waiting.map((jobId) => promote(queue, jobId)));
  return waiting.length;
}

/** Moves a parked (delayed) job to waiting; one that is not delayed any more is already running or about to. */
async function promote(queue: Queue | Worker, jobId: string): Promise<void> {
  const job = await Job.fromId(queue, jobId);
  await job?.promote().catch(() => undefined);
}

/** The progress a parked job shows (Bull Board, the status route): who it waits for, and how often it parked. */
export interface WaitingProgress {
  waitingFor: string;
  parks?: number;
}

export function isWaitingProgress(progress: unknown): progress is WaitingProgress {
  return typeof progress === 'object' && progress !== null && typeof (progress as WaitingProgress).waitingFor === 'string';
}

export interface CommandOrderingOptions {
  /**
   * A parked command looks again by itself after this long (ms), doubling each time it parks
   * again, up to 4× (a long line's far end would otherwise be taken over and over; a wake-up
   * missed while Redis was away then costs at most 20 s). Its
   * predecessor wakes it as soon as it has its outcome; this is the safety net. Default 5 s.
   */
  recheckMs?: number;
  /**
   * A command whose predecessor is running in this same process waits for it here, up to this
   * long (ms), instead of parking: no round trip to Redis and back for the common case of one
   * worker taking both. Default 2 s.
   */
  localWaitMs?: number;
  /**
   * A predecessor that has no job and no outcome is taken as never queued (a web process
   * died between the two steps of intake) once the waiting job is this old (ms). Default 30 s.
   */
  gapGraceMs?: number;
}

/** The worker side: runs a command after its predecessor, parks it while it is early. */
export class BullMqCommandOrdering {
  private worker: Worker | undefined;
  private readonly recheckMs: number;
  private readonly gapGraceMs: number;
  private readonly localWaitMs: number;
  /** Commands running in this process: settled when their attempt ends, however it ends. */
  private readonly running = new Map<string, Promise<void>>();
  /** Releases asked for in this turn of the event loop, sent together (`takeWaiters`). */
  private readonly releasing: { commandId: string; resolve: (waiting: string[]) => void; reject: (error: unknown) => void }[] = [];

  constructor(
    private readonly redis: RedisConnection,
    /**
     * What the commands behind a command still wait for, by the outcomes in PostgreSQL: the
     * command itself, the command a cancelled one was waiting for, or undefined once they may
     * run (the unit of work's `pendingLink`).
     */
    private readonly pendingLink: (commandId: string) => Promise<string | undefined>,
    private readonly logger: Logger,
    options: CommandOrderingOptions = {},
  ) {
    this.recheckMs = options.recheckMs ?? 5000;
    this.gapGraceMs = options.gapGraceMs ?? 30_000;
    this.localWaitMs = options.localWaitMs ?? 2000;
  }

  /** The worker whose jobs this orders (it is built after its processor). */
  attach(worker: Worker): void {
    this.worker = worker;
  }

  /**
   * Runs `execute` as the command of `job` whose predecessor is `after`. If the predecessor
   * has no outcome yet, the job is moved to delayed and DelayedError is thrown (BullMQ's way
   * for a processor to reschedule its own job: no attempt is used up).
   */
  async run<T>(job: Job, token: string | undefined, after: string | undefined, execute: () => Promise<T>): Promise<T> {
    let ended!: () => void;
    this.running.set(job.id!, new Promise<void>((resolve) => (ended = resolve)));
    try {
      return await this.runOrdered(job, token, after, execute);
    } finally {
      this.running.delete(job.id!);
      ended();
    }
  }

  private async runOrdered<T>(job: Job, token: string | undefined, after: string | undefined, execute: () => Promise<T>): Promise<T> {
    if (after === undefined) return execute();
    // What the command waits for: `after`, or, when `after` was cancelled in line, the command
    // `after` was waiting for (the unit of work's gate names it).
    let waitingFor = after;
    const gated = async (): Promise<{ result: T } | undefined> => {
      try {
        const result = await runAfter(after, execute);
        if (isWaitingProgress(job.progress)) await job.updateProgress(0);
        return { result };
      } catch (error) {
        if (!(error instanceof PredecessorPendingError)) throw error;
        waitingFor = error.predecessor;
        return undefined;
      }
    };
    const first = await gated();
    if (first) return first.result;
    // The predecessor is running here: wait for its attempt to end, then look again.
    const local = this.running.get(waitingFor);
    if (local) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([local, new Promise((resolve) => (timer = setTimeout(resolve, this.localWaitMs)))]);
      clearTimeout(timer);
      const second = await gated();
      if (second) return second.result;
    }
    // Past MAX_LOOKS it parks on whatever the gate named last.
    for (let look = 1; look <= MAX_LOOKS; look += 1) {
      const target = waitingFor;
      const predecessorState = await this.stateOf(target);
      // Completed: it committed after this command looked (its job completes after its commit).
      // Failed without an outcome row (it gave up after its retries, or its payload was
      // refused), or long gone: nothing will ever record an outcome for it.
      const gone = predecessorState === 'unknown' && Date.now() - job.timestamp > this.gapGraceMs;
      if (predecessorState !== 'completed' && predecessorState !== 'failed' && !gone) break;
      // The gate was read before the state: a cancel that committed in between (its job is
      // gone now) points the line further back, to a command that may well still come. So the
      // gate is asked once more, and only a gate that still names this command lets it go.
      const again = await gated();
      if (again) return again.result;
      if (waitingFor !== target) continue; // the line now waits for another: look at that one
      if (predecessorState !== 'completed') {
        this.logger.warn({ commandId: job.id, after: target, predecessorState }, 'predecessor will have no outcome; running without it');
      }
      return execute();
    }
    await this.park(job, token, waitingFor);
    throw new DelayedError();
  }

  /**
   * Wakes the commands waiting for `commandId`: called once it has its final outcome (a
   * result, a domain failure, or given up). Best effort: a parked command looks again by
   * itself after `recheckMs`. The releases asked for in one turn of the event loop go to Redis
   * as one script call.
   */
  async release(commandId: string): Promise<void> {
    const waiting = await new Promise<string[]>((resolve, reject) => {
      if (this.releasing.length === 0) process.nextTick(() => this.takeWaiters());
      this.releasing.push({ commandId, resolve, reject });
    });
    await Promise.all(waiting.map((jobId) => this.promote(jobId)));
  }

  /**
   * Sends the releases asked for so far. Called by `nextTick`: asked from promise callbacks (a
   * group's commands settling), it runs once they are all done, so they go together.
   */
  private takeWaiters(): void {
    const batch = this.releasing.splice(0);
    const settle = async () => {
      const keys = orderingKeys(this.queue());
      const taken = await scripts(this.redis).conveyorTakeWaiters(
        2 * batch.length,
        ...batch.flatMap(({ commandId }) => [keys.waiters(commandId), keys.place(commandId)]),
      );
      batch.forEach(({ resolve }, index) => resolve(taken[index] ?? []));
    };
    settle().catch((error: unknown) => batch.forEach(({ reject }) => reject(error)));
  }

  private async park(job: Job, token: string | undefined, after: string): Promise<void> {
    const key = orderingKeys(this.queue()).waiters(after);
    // Listed before it is delayed, and the predecessor looked at again after: if the
    // predecessor finished in between, one of the two sides sees the other (ADR 0006).
    await this.redis
      .multi()
      .sadd(key, job.id!)
      .pexpire(key, this.gapGraceMs + 24 * 3600 * 1000)
      .exec();
    const parks = (isWaitingProgress(job.progress) && job.progress.waitingFor === after ? (job.progress.parks ?? 1) : 0) + 1;
    await job.updateProgress({ waitingFor: after, parks });
    await job.moveToDelayed(Date.now() + this.recheckMs * Math.min(2 ** (parks - 1), 4), token);
    // Done meanwhile, or cancelled meanwhile (its line now waits for an earlier command, whose
    // release would not wake this one): look again now rather than at the recheck.
    if ((await this.pendingLink(after)) !== after) await this.promote(job.id!);
  }

  private promote(jobId: string): Promise<void> {
    return promote(this.queue(), jobId);
  }

  private async stateOf(commandId: string): Promise<string> {
    const job = await Job.fromId(this.queue(), commandId);
    return job ? job.getState() : 'unknown';
  }

  private queue(): Worker {
    if (!this.worker) throw new Error('BullMqCommandOrdering used before attach(worker)');
    return this.worker;
  }
}
