import type { Queue } from 'bullmq';
import type pg from 'pg';
import { expiryCutoff } from '../../application/commerce/order-expiry.js';
import { commandJob, type CommandPayload } from '../../../queues/commands.js';
import type { Logger } from '../logger.js';
import { FailureStreak } from '../failure-streak.js';
import { PeriodicTask } from '../periodic.js';
import { expireOrderCommandId } from '../queue/derived-ids.js';

export interface OrderExpirySweeperOptions {
  pool: pg.Pool;
  /** The `commands` queue (a producer). */
  commands: Queue;
  logger: Logger;
  /** ORDER_CONFIRMATION_TIMEOUT; 0 expires nothing and the sweeper does not run. */
  timeoutMs: number;
  /** How often to look: an overdue order is expired at most this much after its deadline. */
  intervalMs?: number;
  /** Orders handed to the queue per pass at most. */
  batchSize?: number;
  now?: () => number;
}

/** The default period of the sweep: an order expires within about a second of its deadline. */
const ORDER_EXPIRY_SWEEP_MS = 1000;

interface OverdueRow {
  id: string;
  placed_at: Date;
}

const OVERDUE = `select id, placed_at from orders where status = 'pending' and placed_at <= $1`;
const PAGE = `order by placed_at, id limit $2`;
const FIRST_PAGE = `${OVERDUE} ${PAGE}`;
const NEXT_PAGE = `${OVERDUE} and (placed_at, id) > ($3, $4::uuid) ${PAGE}`;

/**
 * Orders expire by a sweep of PostgreSQL (docs/adr/0020-order-expiry-sweep.md): every
 * `intervalMs` the relay process reads the pending orders placed ORDER_CONFIRMATION_TIMEOUT ago
 * or earlier (a partial index holds only pending orders) and adds one ExpireOrder command job
 * for each, its job id the command id derived from the order. Redis holds an expiry only once
 * it is due, so a confirmed order never costs one, and an expiry Redis lost is added again.
 *
 * A job still in Redis is not added twice (same job id); an ExpireOrder that ran already is
 * not repeated either (its order is no longer pending, or its outcome row answers). A pass
 * takes one page of the overdue orders, oldest first, and the next pass the page after it, so
 * a backlog (after an outage) is handed over a page per pass and an order whose expiry is stuck
 * (a job that gave up) cannot hold the others back; after a short page the next pass starts
 * again from the oldest. Two sweepers at once are harmless for the same reasons.
 */
export class OrderExpirySweeper {
  private readonly batchSize: number;
  private readonly now: () => number;
  private readonly periodic: PeriodicTask;
  /** Where the next pass continues; none: from the oldest overdue order. */
  private after: OverdueRow | undefined;

  constructor(private readonly options: OrderExpirySweeperOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.now = options.now ?? Date.now;
    this.periodic = new PeriodicTask(
      () => this.sweep(),
      options.intervalMs ?? ORDER_EXPIRY_SWEEP_MS,
      new FailureStreak(options.logger, 'order expiry sweep failed'),
    );
  }

  start(): void {
    if (this.options.timeoutMs > 0) this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass; returns how many ExpireOrder jobs it handed to the queue (existing ones included). */
  async sweep(): Promise<number> {
    const cutoff = expiryCutoff(new Date(this.now()), this.options.timeoutMs);
    if (!cutoff) return 0;
    const { rows } = await this.options.pool.query<OverdueRow>(
      this.after ? NEXT_PAGE : FIRST_PAGE,
      this.after ? [cutoff, this.batchSize, this.after.placed_at, this.after.id] : [cutoff, this.batchSize],
    );
    if (rows.length > 0) {
      await this.options.commands.addBulk(
        rows.map((row) => {
          const data: CommandPayload<'ExpireOrder'> = { commandId: expireOrderCommandId(row.id), orderId: row.id };
          return commandJob('ExpireOrder', data);
        }),
      );
      this.options.logger.debug({ overdue: rows.length }, 'overdue orders handed to the commands queue');
    }
    this.after = rows.length === this.batchSize ? rows.at(-1) : undefined;
    return rows.length;
  }
}
