// The worker side of per-aggregate ordering (docs/adr/0006-per-aggregate-ordering.md) on real
// BullMQ, Redis and PostgreSQL, with the timings shortened: an early command parks and is woken
// by its predecessor's final outcome (well before its own recheck), a predecessor that failed
// without an outcome lets it go, and one that never came is given up after the grace period.
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CommandPayload, CommandType } from '../../queues/commands.js';
import { ORDERING_LINE_TTL_SECONDS, commandJob, orderingKey } from '../../queues/commands.js';
import { BullMqCommandOrdering, orderingKeys, takePlaceInLine } from '../../src/infrastructure/queue/bullmq-command-ordering.js';
import { PredecessorPendingError, currentPredecessor } from '../../src/infrastructure/ordering/predecessor.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { BullMqCommandSender } from '../../src/infrastructure/queue/bullmq-command-sender.js';
import { BullMqCommandJobs } from '../../src/infrastructure/queue/bullmq-command-jobs.js';
import { systemClock } from '../../src/application/clock.js';
import { GetCommandStatus } from '../../src/application/commerce/queries/get-command-status.js';
import { CancelCommand } from '../../src/application/commerce/use-cases/cancel-command.js';
import { PgCommandOutcomes } from '../../src/infrastructure/persistence/pg-command-outcomes.js';
import { PgReadModel } from '../../src/infrastructure/read/pg-read-model.js';
import type { Infrastructure } from '../../src/main/infrastructure.js';
import { startCommandWorker } from '../../src/main/roles/command-worker.js';
import type { RunningWorker } from '../../src/main/roles/queue-worker.js';
import { infrastructureOnFreshDatabase } from '../support/infrastructure.js';
import { newId } from '../support/orm.js';
import { waitFor } from '../support/wait.js';

const RECHECK_MS = 20_000;
const GAP_GRACE_MS = 3000;

let infra: Infrastructure;
let worker: RunningWorker;
let jobs: BullMqCommandJobs;

beforeAll(async () => {
  infra = await infrastructureOnFreshDatabase();
  worker = startCommandWorker(infra, { ordering: { recheckMs: RECHECK_MS, gapGraceMs: GAP_GRACE_MS } });
  jobs = new BullMqCommandJobs(infra.queues.commands, infra.producerConnection);
});

afterAll(async () => {
  await worker.stop(5000);
  await infra.close();
});

async function send<T extends CommandType>(type: T, payload: CommandPayload<T>, after?: string, delay?: number): Promise<Job> {
  const job = commandJob(type, payload, { after });
  return infra.queues.commands.add(job.name, job.data, { ...job.opts, ...(delay ? { delay } : {}) });
}

/** The job once it has finished (completed or failed). */
async function finished(commandId: string, timeoutMs = 15_000): Promise<Job> {
  return waitFor(
    async () => {
      const job = await infra.queues.commands.getJob(commandId);
      return job?.finishedOn ? job : undefined;
    },
    timeoutMs,
    `command ${commandId} to finish`,
  );
}

/** Sends AddProduct for a product 'W' at 1.00 EUR with `stock` units, its SKU `<skuPrefix>-…`. */
const addProduct = (productId: string, skuPrefix: string, stock: number) =>
  send('AddProduct', {
    commandId: newId(),
    productId,
    sku: `${skuPrefix}-${productId.slice(-12)}`,
    name: 'W',
    price: { amount: '1.00', currency: 'EUR' },
    stock,
  });

/** A placed order (committed) to confirm. */
async function placedOrder(): Promise<string> {
  const [userId, productId, orderId] = [newId(), newId(), newId()];
  const user = await send('RegisterUser', { commandId: newId(), userId, email: `${userId}@example.com`, name: 'Ann' });
  const product = await addProduct(productId, 'O', 5);
  await Promise.all([finished(user.id!), finished(product.id!)]);
  const place = await send('PlaceOrder', { commandId: newId(), orderId, userId, items: [{ productId, quantity: 1 }] });
  expect((await finished(place.id!)).returnvalue).toMatchObject({ orderId });
  return orderId;
}

describe('command worker with per-aggregate ordering', () => {
  it('parks a command that came early and runs it as soon as its predecessor has its outcome', async () => {
    const orderId = await placedOrder();
    const confirmId = newId();
    const shipId = newId();
    // Confirm becomes due in 1.5 s; Ship, sent after it, is taken at once and must wait.
    await send('ConfirmOrder', { commandId: confirmId, orderId }, undefined, 1500);
    await send('ShipOrder', { commandId: shipId, orderId }, confirmId);
    const parked = await waitFor(async () => {
      const state = await jobs.find(shipId);
      return state?.waitingFor ? state : undefined;
    });
    expect(parked).toMatchObject({ state: 'queued', waitingFor: confirmId });

    const [confirm, ship] = [await finished(confirmId), await finished(shipId)];
    expect(confirm.returnvalue).toEqual({ orderId, status: 'confirmed' });
    expect(ship.returnvalue).toEqual({ orderId, status: 'shipped' });
    // Woken by Confirm's release, not by its own recheck 20 s later.
    expect(ship.finishedOn! - confirm.finishedOn!).toBeLessThan(2000);
    expect((await jobs.find(shipId))?.waitingFor).toBeNull();
  });

  it('lets a command go when its predecessor failed without an outcome, at once whether it parked before or came after', async () => {
    const orderId = await placedOrder();
    const brokenId = newId();
    // A predecessor whose payload the worker refuses (final, no processed_commands row).
    const broken = { commandId: brokenId, orderId: 'not-a-uuid' } as unknown as CommandPayload<'CancelOrder'>;
    await send('CancelOrder', broken, undefined, 1000);
    const confirmId = newId();
    await send('ConfirmOrder', { commandId: confirmId, orderId }, brokenId);
    const [failed, confirm] = [await finished(brokenId), await finished(confirmId)];
    expect(failed.failedReason).toMatch(/^invalid_payload: /);
    expect(confirm.returnvalue).toEqual({ orderId, status: 'confirmed' });
    expect(confirm.finishedOn! - failed.finishedOn!).toBeLessThan(2000);

    // Sent after the predecessor is already failed: it runs without parking.
    const shipId = newId();
    const ship = await send('ShipOrder', { commandId: shipId, orderId }, brokenId);
    expect((await finished(shipId)).returnvalue).toEqual({ orderId, status: 'shipped' });
    expect((await finished(shipId)).finishedOn! - ship.timestamp).toBeLessThan(2000);
  });

  it('gives up on a predecessor that never came once the grace period is over, not before', async () => {
    const orderId = await placedOrder();
    const confirmId = newId();
    // A worker that rechecks every 1 s takes over, so the grace period is what it waits for.
    await worker.worker.pause();
    const fast = startCommandWorker(infra, { ordering: { recheckMs: 1000, gapGraceMs: GAP_GRACE_MS } });
    try {
      const job = await send('ConfirmOrder', { commandId: confirmId, orderId }, newId());
      await new Promise((resolve) => setTimeout(resolve, GAP_GRACE_MS / 2));
      expect(await jobs.find(confirmId)).toMatchObject({ state: 'queued' });
      const done = await finished(confirmId, GAP_GRACE_MS * 4);
      expect(done.returnvalue).toEqual({ orderId, status: 'confirmed' });
      expect(done.finishedOn! - job.timestamp).toBeGreaterThanOrEqual(GAP_GRACE_MS);
    } finally {
      await fast.stop(5000);
      await worker.worker.resume();
    }
  });

  it('runs a retried intake in its first place although a later command was accepted behind it meanwhile (no cycle)', async () => {
    const productId = newId();
    const add = await addProduct(productId, 'R', 0);
    await finished(add.id!);
    const sender = new BullMqCommandSender(infra.queues.commands, {
      ordering: { redis: infra.producerConnection, ttlSeconds: ORDERING_LINE_TTL_SECONDS },
    });
    const [a, b, c] = [1, 2, 3].map((quantity) => ({ commandId: newId(), productId, quantity }));
    await sender.send('RestockProduct', a!);
    // b's first intake took its place in line, then its add failed (the API answered 503) …
    const key = orderingKey('RestockProduct', b!);
    await takePlaceInLine(infra.producerConnection, infra.queues.commands, key, b!.commandId, ORDERING_LINE_TTL_SECONDS);
    // … c was accepted behind it, and then the client retried b with its Idempotency-Key.
    await sender.send('RestockProduct', c!);
    await sender.send('RestockProduct', b!);
    // All three run, in intake order, long before the 20 s recheck: woken by their predecessors.
    const done = await Promise.all([a, b, c].map((command) => finished(command!.commandId, 10_000)));
    expect(done.map((job) => job.returnvalue)).toEqual([1, 3, 6].map((stock) => expect.objectContaining({ stock })));
    // Each place record went with its command's outcome.
    expect(await infra.producerConnection.keys(infra.queues.commands.toKey('ordering-place:*'))).toEqual([]);
  });

  it('wakes the waiters of commands released in the same turn with one script call, each its own', async () => {
    const productId = newId();
    await finished((await addProduct(productId, 'B', 0)).id!);
    // Three commands ended together (as a group of the unit of work does), each with a command
    // parked behind it for a minute and a place record.
    const ended = [newId(), newId(), newId()];
    const parked = await Promise.all(ended.map((_, i) => send('RestockProduct', { commandId: newId(), productId, quantity: i + 1 }, undefined, 60_000)));
    const keys = orderingKeys(infra.queues.commands);
    for (const [i, commandId] of ended.entries()) {
      await infra.producerConnection.sadd(keys.waiters(commandId), parked[i]!.id!);
      await infra.producerConnection.set(keys.place(commandId), '');
    }
    const connection = createRedisConnection({ url: infra.config.redisUrl, role: 'worker' });
    try {
      const ordering = new BullMqCommandOrdering(connection, () => Promise.resolve(undefined), infra.logger);
      ordering.attach(worker.worker);
      // A release on its own, with nothing waiting (it also loads the script: ioredis sends a
      // script's first call on a connection as EVAL, the later ones as EVALSHA).
      await expect(ordering.release(newId())).resolves.toBeUndefined();
      const sent = vi.spyOn(connection, 'sendCommand');
      await Promise.all(ended.map((commandId) => ordering.release(commandId)));
      const scriptCalls = sent.mock.calls.filter(([command]) => /^eval/i.test(command.name));
      expect(scriptCalls).toHaveLength(1);
      // Each parked command was promoted and ran long before its delay.
      const done = await Promise.all(parked.map((job) => finished(job.id!, 10_000)));
      expect(done.every((job) => job.finishedOn! - job.timestamp < 30_000)).toBe(true);
      for (const commandId of ended) {
        expect(await infra.producerConnection.exists(keys.waiters(commandId), keys.place(commandId))).toBe(0);
      }
    } finally {
      connection.disconnect();
    }
  });

  describe('a command cancelled in the middle of its line', () => {
    /** Cancels a command as DELETE /v1/commands/{id} does. */
    const cancel = (commandId: string) =>
      new CancelCommand(new GetCommandStatus(new PgReadModel(infra.pool), jobs), new PgCommandOutcomes(infra.pool), jobs, systemClock).execute(commandId);
    const processedAt = async (commandId: string) =>
      (await infra.pool.query<{ at: Date }>('select processed_at as at from processed_commands where command_id = $1', [commandId])).rows[0]?.at;

    it('keeps the commands behind it waiting for the one before it, which has not run yet', async () => {
      const productId = newId();
      await finished((await addProduct(productId, 'X', 0)).id!);
      // A worker that looks again every second: what waits, waits because the gate says so.
      await worker.worker.pause();
      const fast = startCommandWorker(infra, { ordering: { recheckMs: 1000, gapGraceMs: GAP_GRACE_MS } });
      try {
        // a waits 4 s (as for its retry's backoff); b and c came after it, each naming the one before.
        const [a, b, c] = [1, 2, 4].map((quantity) => ({ commandId: newId(), productId, quantity }));
        await send('RestockProduct', a!, undefined, 4000);
        await send('RestockProduct', b!, a!.commandId);
        await send('RestockProduct', c!, b!.commandId);
        await waitFor(async () => (await jobs.find(c!.commandId))?.waitingFor === b!.commandId, 10_000, 'c to park behind b');

        expect(await cancel(b!.commandId)).toMatchObject({ status: 'cancelled' });
        // c now waits for a (the status route says so), not for b's outcome.
        await waitFor(async () => (await jobs.find(c!.commandId))?.waitingFor === a!.commandId, 5000, 'c to park behind a');
        await finished(a!.commandId);
        expect((await finished(c!.commandId)).returnvalue).toMatchObject({ stock: 5 });
        expect((await processedAt(c!.commandId))!.getTime()).toBeGreaterThan((await processedAt(a!.commandId))!.getTime());
      } finally {
        await fast.stop(5000);
        await worker.worker.resume();
      }
    });

    it('wakes them to wait for the one before it, and that one wakes them when it is done, long before their next look', async () => {
      // The suite's worker: a parked command looks again after 20 s, so what runs earlier was woken.
      const productId = newId();
      await finished((await addProduct(productId, 'Z', 0)).id!);
      const [a, b, c] = [1, 2, 4].map((quantity) => ({ commandId: newId(), productId, quantity }));
      await send('RestockProduct', a!, undefined, 3000);
      await send('RestockProduct', b!, a!.commandId);
      await send('RestockProduct', c!, b!.commandId);
      await waitFor(async () => (await jobs.find(c!.commandId))?.waitingFor === b!.commandId, 10_000, 'c to park behind b');

      await cancel(b!.commandId);
      // The cancel woke c, which now waits for a …
      await waitFor(async () => (await jobs.find(c!.commandId))?.waitingFor === a!.commandId, 2000, 'c to park behind a');
      // … and a's release woke it again.
      const [ranA, ranC] = [await finished(a!.commandId), await finished(c!.commandId, 10_000)];
      expect(ranC.returnvalue).toMatchObject({ stock: 5 });
      expect(ranC.finishedOn! - ranA.finishedOn!).toBeLessThan(1000);
    });

    it('lets them run at once when the one before it is done, instead of at their next look', async () => {
      const productId = newId();
      const a = { commandId: newId(), productId, quantity: 1 };
      await finished((await addProduct(productId, 'Y', 0)).id!);
      await finished((await send('RestockProduct', a)).id!);
      // b is in line behind a but due in a minute (as for a retry); c, behind b, parks (its own
      // look is 20 s away).
      const b = { commandId: newId(), productId, quantity: 2 };
      const c = { commandId: newId(), productId, quantity: 4 };
      await send('RestockProduct', b, a.commandId, 60_000);
      await send('RestockProduct', c, b.commandId);
      await waitFor(async () => (await jobs.find(c.commandId))?.waitingFor === b.commandId, 10_000, 'c to park behind b');

      const cancelledAt = Date.now();
      await cancel(b.commandId);
      const ranC = await finished(c.commandId, 10_000);
      expect(ranC.returnvalue).toMatchObject({ stock: 5 });
      expect(ranC.finishedOn! - cancelledAt).toBeLessThan(2000);
    });
  });

  describe('when a cancel commits between its gate read and its look at the predecessor', () => {
    // The gate's reads are played by `execute` (the unit of work would throw the same error),
    // the rest is real: the jobs in Redis, the worker's lock, parking. a is due in a minute; b
    // was a's successor and c's predecessor, and is cancelled while c looks.
    let queue: Queue;
    let manual: Worker;
    let connection: ReturnType<typeof createRedisConnection>;
    let a: string, b: string, c: string;
    /** c's gate: b without an outcome at the first read (just before the cancel), a at every later one. */
    let gateReads: number;
    let ranUngated: boolean;
    const execute = async () => {
      if (currentPredecessor() === undefined) {
        ranUngated = true;
        return 'ran';
      }
      gateReads += 1;
      throw new PredecessorPendingError(gateReads === 1 ? b : a);
    };

    beforeAll(() => {
      const prefix = infra.config.queuePrefix;
      queue = new Queue('ordering-race', { connection: infra.producerConnection, prefix });
      connection = createRedisConnection({ url: infra.config.redisUrl, role: 'worker' });
      manual = new Worker('ordering-race', null, { connection, prefix, autorun: false });
    });
    afterAll(async () => {
      await manual.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    });

    /** c, taken by the worker with `token`; a delayed; b as `bJob` says. */
    async function lineWithCTaken(token: string, bJob: 'gone' | 'delayed'): Promise<Job> {
      [a, b, c] = [newId(), newId(), newId()];
      gateReads = 0;
      ranUngated = false;
      await queue.add('RestockProduct', {}, { jobId: a, delay: 60_000 });
      if (bJob === 'delayed') await queue.add('RestockProduct', {}, { jobId: b, delay: 60_000 });
      await queue.add('RestockProduct', {}, { jobId: c });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const job = (await manual.getNextJob(token)) as Job | undefined;
      if (job?.id !== c) throw new Error(`the worker took ${job?.id ?? 'nothing'}, not c`);
      return job;
    }

    it('does not run without a gate when the predecessor it found gone was cancelled: it parks behind the one before', async () => {
      const token = newId();
      const job = await lineWithCTaken(token, 'gone');
      // No grace: a predecessor without a job counts as gone at once.
      const ordering = new BullMqCommandOrdering(connection, (id) => Promise.resolve(id === b ? a : id), infra.logger, { gapGraceMs: 0, recheckMs: 60_000 });
      ordering.attach(manual);
      await expect(ordering.run(job, token, b, execute)).rejects.toBeInstanceOf(DelayedError);
      expect(ranUngated).toBe(false);
      expect(await queue.getJobState(c)).toBe('delayed');
      expect((await queue.getJob(c))?.progress).toMatchObject({ waitingFor: a });
      expect(await infra.producerConnection.smembers(orderingKeys(manual).waiters(a))).toEqual([c]);
    });

    it('still runs without it when the gate names the same predecessor again (it will never have an outcome)', async () => {
      const token = newId();
      const job = await lineWithCTaken(token, 'gone');
      const ordering = new BullMqCommandOrdering(connection, (id) => Promise.resolve(id), infra.logger, { gapGraceMs: 0, recheckMs: 60_000 });
      ordering.attach(manual);
      // b at every read: nothing was cancelled, b gave up or never came.
      const behindB = async () => {
        if (currentPredecessor() !== undefined) throw new PredecessorPendingError(b);
        ranUngated = true;
        return 'ran';
      };
      await expect(ordering.run(job, token, b, behindB)).resolves.toBe('ran');
      expect(ranUngated).toBe(true);
      await job.moveToCompleted('ran', token, false);
    });

    it('does not stay parked behind a predecessor cancelled while it parked: it is woken to look again', async () => {
      const token = newId();
      // b still has its job (due in a minute): c parks behind it …
      const job = await lineWithCTaken(token, 'delayed');
      // … as the gate says at every read …
      const behindB = async () => {
        throw new PredecessorPendingError(b);
      };
      // … and by the time it has parked, b was cancelled: its line waits for a now, and the
      // cancel's wake-up of b's waiters came before c was one of them.
      const ordering = new BullMqCommandOrdering(connection, (id) => Promise.resolve(id === b ? a : id), infra.logger, { recheckMs: 60_000 });
      ordering.attach(manual);
      await expect(ordering.run(job, token, b, behindB)).rejects.toBeInstanceOf(DelayedError);
      // Not left for its recheck a minute away: back in the wait list, to look again.
      expect(await queue.getJobState(c)).toBe('waiting');
    });
  });

  it('runs a chain of 40 commands on one key link after link, each once', async () => {
    const productId = newId();
    const add = await addProduct(productId, 'C', 0);
    await finished(add.id!);
    const ids = Array.from({ length: 40 }, () => newId());
    // Added at once, each naming the one before: most are taken while their predecessor runs
    // in this same worker, and wait for it there.
    await Promise.all(ids.map((commandId, i) => send('RestockProduct', { commandId, productId, quantity: i + 1 }, ids[i - 1] ?? add.id!)));
    const done = await Promise.all(ids.map((id) => finished(id, 60_000)));
    expect(done.map((job) => job.returnvalue)).toEqual(ids.map((_, i) => expect.objectContaining({ stock: ((i + 1) * (i + 2)) / 2 })));
    const finishedOrder = [...done].sort((a, b) => a.finishedOn! - b.finishedOn!).map((job) => job.id);
    expect(finishedOrder).toEqual(ids);
    console.log(`[command-ordering] chain of 40: jobs taken ${done.reduce((n, job) => n + job.attemptsStarted, 0)} times`);
  });
});
