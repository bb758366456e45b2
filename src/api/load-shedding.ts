import type { FastifyReply, FastifyRequest } from 'fastify';
import type { QueueDepth } from './ports.js';
import { problemType, sendProblem } from './problem.js';

/**
 * How stale the queue depth behind the command ceiling may be. Reading it costs one Redis
 * round trip; reading it at most twice a second per web process keeps that off the intake's
 * path (one request in every 500 ms waits for it, concurrent ones share the read) while a
 * queue that drains back under the ceiling is noticed within half a second.
 */
export const QUEUE_DEPTH_REFRESH_MS = 500;

/** Retry-After of a 503 for a full queue: long enough for the workers to drain some of it. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

/**
 * The ceiling on queued commands (MAX_QUEUED_COMMANDS, docs/adr/0012-rate-limits-and-load-shedding.md):
 * once the `commands` queue holds `max` unfinished jobs, command intake answers 503 with
 * Retry-After instead of letting Redis fill up, and 202 again once the workers brought it back
 * under. The count is at most QUEUE_DEPTH_REFRESH_MS old, so each web process may accept what
 * it takes in that long beyond the ceiling: it is a bound on memory, not an exact quota.
 */
export class CommandCeiling {
  private count = 0;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | null = null;

  /** `max` 0: no ceiling (the queue depth is never read). */
  constructor(
    private readonly depth: QueueDepth,
    private readonly max: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when the queue held `max` commands or more when last counted. */
  async isFull(): Promise<boolean> {
    if (this.max === 0) return false;
    if (this.now() - this.readAt >= QUEUE_DEPTH_REFRESH_MS) {
      this.reading ??= this.refresh();
      await this.reading;
    }
    return this.count >= this.max;
  }

  private async refresh(): Promise<void> {
    try {
      this.count = await this.depth.queuedCommands();
    } catch {
      // Redis is unavailable: the last count stands. Intake needs Redis for the job anyway,
      // and answers 503 when the add fails; counting again on every request would not help.
    } finally {
      this.readAt = this.now();
      this.reading = null;
    }
  }

  /** A preHandler for the command routes: 503 problem+json with Retry-After while the queue is full. */
  readonly shedWhenFull = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (!(await this.isFull())) return undefined;
    return sendProblem(
      request,
      reply,
      {
        status: 503,
        type: problemType('queue-full'),
        detail: `Too many commands are waiting to be processed; retry in ${QUEUE_FULL_RETRY_AFTER_SECONDS} s.`,
      },
      { 'retry-after': String(QUEUE_FULL_RETRY_AFTER_SECONDS) },
    );
  };
}
