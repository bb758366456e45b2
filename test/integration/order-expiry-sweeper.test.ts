import { Queue } from 'bullmq';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { commandPayloads } from '../../queues/commands.js';
import { expireOrderCommandId } from '../../src/infrastructure/queue/derived-ids.js';
import { BullMqQueueDepth } from '../../src/infrastructure/queue/bullmq-queue-depth.js';
import { OrderExpirySweeper } from '../../src/infrastructure/relay/order-expiry-sweeper.js';
import { poolAndRedis } from '../support/pool-and-redis.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { newId } from '../support/orm.js';

// Orders expire by a sweep of the pending orders (docs/adr/0020-order-expiry-sweep.md).
const logger = pino({ level: 'silent' });
const TIMEOUT_MS = 30 * 60_000;
const NOW = Date.parse('2026-12-04T12:00:00.000Z');

const fixture = poolAndRedis(4);
let commands: Queue;

beforeEach(async () => {
  commands = new Queue('commands', { connection: fixture.connection, prefix: uniquePrefix('expiry') });
  await fixture.pool.query('truncate orders');
});

const sweeper = (options: { timeoutMs?: number; batchSize?: number; intervalMs?: number } = {}) =>
  new OrderExpirySweeper({ pool: fixture.pool, commands, logger, timeoutMs: TIMEOUT_MS, now: () => NOW, ...options });

/** An order placed `minutesAgo` before NOW, in `status`. */
async function order(minutesAgo: number, status = 'pending'): Promise<string> {
  const id = newId();
  const placedAt = new Date(NOW - minutesAgo * 60_000);
  await fixture.pool.query(
    `insert into orders (id, user_id, status, items, total_minor, currency, placed_at, updated_at)
     values ($1, $2, $3, '[]', 100, 'EUR', $4, $4)`,
    [id, newId(), status, placedAt],
  );
  return id;
}

const jobIds = async () => (await commands.getJobs(['waiting', 'delayed'])).map((job) => job.id).sort();
const expiriesOf = (orderIds: string[]) => orderIds.map((id) => expireOrderCommandId(id)).sort();

describe('OrderExpirySweeper', () => {
  it('adds an ExpireOrder, due at once, for each order still pending ORDER_CONFIRMATION_TIMEOUT after it was placed, and for no other', async () => {
    const overdue = [await order(31), await order(24 * 60)];
    const exactlyDue = await order(30);
    await order(29); // pending, not yet due
    await order(45, 'confirmed');
    await order(45, 'cancelled');

    expect(await sweeper().sweep()).toBe(3);

    expect(await jobIds()).toEqual(expiriesOf([...overdue, exactlyDue]));
    const job = await commands.getJob(expireOrderCommandId(overdue[0]!));
    expect(job?.name).toBe('ExpireOrder');
    expect(commandPayloads.ExpireOrder.parse(job?.data)).toEqual({ commandId: expireOrderCommandId(overdue[0]!), orderId: overdue[0] });
    expect(await job?.getState()).toBe('waiting');
  });

  it('adds no job twice while it is in Redis, and adds it again once Redis lost it', async () => {
    const overdue = await order(40);
    const sweep = sweeper();
    await sweep.sweep();
    await sweep.sweep();
    expect(await commands.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed')).toBe(1);

    await commands.obliterate({ force: true });
    await sweep.sweep();

    expect(await jobIds()).toEqual(expiriesOf([overdue]));
  });

  it('keeps nothing in Redis for orders that are not yet due: the ceiling on queued commands does not count them', async () => {
    for (let i = 0; i < 50; i++) await order(i % 30);

    await sweeper().sweep();

    expect(await new BullMqQueueDepth(commands).queuedCommands()).toBe(0);
  });

  it('hands a backlog over a page per pass, oldest first, then starts again from the oldest', async () => {
    const overdue: string[] = [];
    for (let minutes = 100; minutes > 95; minutes--) overdue.push(await order(minutes));
    const sweep = sweeper({ batchSize: 2 });

    expect(await sweep.sweep()).toBe(2);
    expect(await jobIds()).toEqual(expiriesOf(overdue.slice(0, 2)));
    expect(await sweep.sweep()).toBe(2);
    expect(await jobIds()).toEqual(expiriesOf(overdue.slice(0, 4)));
    // The oldest two stay pending (their jobs have not run), yet the third pass reaches the last.
    expect(await sweep.sweep()).toBe(1);
    expect(await jobIds()).toEqual(expiriesOf(overdue));
    // After a short page the next pass looks from the oldest again: a job Redis lost meanwhile comes back.
    await commands.remove(expireOrderCommandId(overdue[0]!));
    expect(await sweep.sweep()).toBe(2);
    expect(await jobIds()).toEqual(expiriesOf(overdue));
  });

  it('expires nothing with ORDER_CONFIRMATION_TIMEOUT=0', async () => {
    await order(60 * 24 * 365);

    expect(await sweeper({ timeoutMs: 0 }).sweep()).toBe(0);

    expect(await commands.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed')).toBe(0);
  });

  it('runs by itself every intervalMs once started, and stops', async () => {
    const overdue = await order(31);
    const running = sweeper({ intervalMs: 50 });
    running.start();
    try {
      await expect.poll(jobIds, { timeout: 5000, interval: 50 }).toEqual(expiriesOf([overdue]));
    } finally {
      await running.stop();
    }
  });
});
