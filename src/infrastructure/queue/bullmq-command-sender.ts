import type { Queue } from 'bullmq';
import { commandJob, orderingKey, type CommandPayload, type CommandType, type SendOptions, type SentBy } from '../../../queues/commands.js';
import type { RedisConnection } from '../redis/connection.js';
import { startLine, takePlaceInLine } from './bullmq-command-ordering.js';

export interface BullMqCommandSenderOptions {
  /**
   * How long `send` waits for the queue's Redis connection to become ready before it gives up.
   * BullMQ would otherwise wait for ever while Redis is down, and a job added after the API
   * has already answered 503 would run a command the client believes was refused.
   */
  readyTimeoutMs?: number;
  /**
   * Per-aggregate ordering (docs/adr/0006-per-aggregate-ordering.md): the queue's Redis
   * connection and how long a key's line is remembered. Without it, commands are not ordered.
   */
  ordering?: {
    redis: RedisConnection;
    ttlSeconds: number;
    /** A queued first command whose line could not be started (the caller logs it). */
    onLineNotStarted?: (failure: { commandId: string; orderingKey: string; error: unknown }) => void;
  };
}

/**
 * Job options that make a job due at `runAt`: a delay from a creation time given explicitly, so
 * that BullMQ's due time (timestamp + delay) is `runAt` to the millisecond, as the status shows it.
 */
export function dueAt(runAt: Date, now = Date.now()): { timestamp: number; delay: number } {
  return { timestamp: now, delay: Math.max(0, runAt.getTime() - now) };
}

/** Raised when the command could not be put on the queue; the API answers 503. */
export class QueueUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueUnavailableError';
  }
}

/**
 * Puts commands on the `commands` queue (built by `createQueue`, so it carries
 * `commandJobOptions` as its default job options). The job id is the command id: adding the
 * same command twice leaves one job, which is what makes an idempotent retry safe.
 */
export class BullMqCommandSender {
  private readonly readyTimeoutMs: number;
  private readonly ordering: BullMqCommandSenderOptions['ordering'];

  constructor(
    private readonly queue: Queue,
    options: BullMqCommandSenderOptions = {},
  ) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 3000;
    this.ordering = options.ordering;
  }

  /**
   * With `runAt` the job is a delayed job, due then (a scheduled command: it waits for its time,
   * not behind other commands).
   */
  async send(type: CommandType, payload: CommandPayload, options: SendOptions = {}): Promise<void> {
    await this.waitUntilReady();
    // Once the connection is ready, a producer connection (no offline queue) rejects a
    // command at once if Redis goes away, so add() cannot hang here.
    // A scheduled command takes no place in its key's line: it is ordered by when it runs
    // (ADR 0006, point 6), or one due tomorrow would hold back every later command of its key.
    // The first command of a new aggregate needs no answer from its line.
    if (this.ordering && !options.runAt && options.newAggregate) return this.sendFirstOfLine(this.ordering, type, payload, options.sentBy);
    const after =
      this.ordering && !options.runAt
        ? await takePlaceInLine(this.ordering.redis, this.queue, orderingKey(type, payload), payload.commandId, this.ordering.ttlSeconds)
        : undefined;
    // If this process dies right here, the next command of the key names a predecessor that
    // has no job; the worker lets it go ahead after a grace period (ADR 0006).
    const job = commandJob(type, payload, { after, sentBy: options.sentBy });
    await this.queue.add(job.name, job.data, { ...job.opts, ...(options.runAt ? dueAt(options.runAt) : {}) });
  }

  /**
   * The first command of a new aggregate starts its line and is added in the same round trip
   * (both are sent at once; nothing depends on which Redis runs first). The add decides the
   * answer: if it failed the client is refused (503) as before, and a line started for it is
   * what a process dying between the two steps leaves too (ADR 0006). If only starting the
   * line failed, the command is queued, so it is started once more (HSETNX: repeating it is
   * safe); should that fail too, the command stays accepted and the loss is reported — its
   * successors would not wait for it.
   */
  private async sendFirstOfLine(ordering: NonNullable<BullMqCommandSenderOptions['ordering']>, type: CommandType, payload: CommandPayload, sentBy: SentBy | undefined) {
    const job = commandJob(type, payload, { sentBy });
    const key = orderingKey(type, payload);
    const start = () => startLine(ordering.redis, this.queue, key, payload.commandId, ordering.ttlSeconds);
    const [line, added] = await Promise.allSettled([start(), this.queue.add(job.name, job.data, job.opts)]);
    if (added.status === 'rejected') throw added.reason;
    if (line.status === 'fulfilled') return;
    try {
      await start();
    } catch (error) {
      ordering.onLineNotStarted?.({ commandId: payload.commandId, orderingKey: key, error });
    }
  }

  private waitUntilReady(): Promise<void> {
    return queueReady(this.queue, this.readyTimeoutMs);
  }
}

/**
 * Resolves once `queue` is connected to Redis, or fails with QueueUnavailableError after
 * `timeoutMs`: BullMQ alone waits for ever while Redis is down, and work it then does after the
 * caller has given up (the API answered 503) is work the caller believes was refused.
 */
export async function queueReady(queue: Queue, timeoutMs = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError(`queue ${queue.name} is not connected to Redis`)), timeoutMs);
  });
  try {
    await Promise.race([queue.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
