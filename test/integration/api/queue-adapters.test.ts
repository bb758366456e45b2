import { Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type CommandPayload, QUEUES } from '../../../queues/index.js';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import type { CommandSender, IdempotencyStore } from '../../../src/api/ports.js';
import { RedisIdempotencyStore } from '../../../src/infrastructure/idempotency/redis-idempotency-store.js';
import { BullMqCommandJobs } from '../../../src/infrastructure/queue/bullmq-command-jobs.js';
import { BullMqCommandSender, QueueUnavailableError } from '../../../src/infrastructure/queue/bullmq-command-sender.js';
import { takePlaceInLine } from '../../../src/infrastructure/queue/bullmq-command-ordering.js';
import { createQueue } from '../../../src/infrastructure/queue/queues.js';
import { REDIS_URL } from '../../support/config.js';
import { uniquePrefix } from '../../support/redis-keys.js';

const prefix = uniquePrefix('api');
const connection = createRedisConnection({ url: REDIS_URL, role: 'producer' });
const workerConnection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
const queue = createQueue(QUEUES.commands, { connection, prefix });
const sender: CommandSender = new BullMqCommandSender(queue);
const jobs = new BullMqCommandJobs(queue, connection);
const store: IdempotencyStore = new RedisIdempotencyStore(connection, { prefix });

beforeAll(async () => {
  await queue.waitUntilReady();
});

beforeEach(async () => {
  await queue.obliterate({ force: true });
});

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  const keys = await connection.keys(`${prefix}:*`);
  if (keys.length > 0) await connection.del(...keys);
  await Promise.all([connection.quit(), workerConnection.quit()]);
});

const waitingFor = '01930000-0000-7000-8000-00000000cccc';
let n = 0;
function confirmOrder(): CommandPayload {
  n += 1;
  return {
    commandId: `01930000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`,
    orderId: '01930000-0000-7000-8000-00000000aaaa',
  };
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('BullMqCommandSender', () => {
  test('sending the same command twice leaves one job', async () => {
    const payload = confirmOrder();
    await sender.send('ConfirmOrder', payload);
    await sender.send('ConfirmOrder', payload);
    expect(await queue.count()).toBe(1);
    const job = await queue.getJob(payload.commandId);
    expect(job?.data).toEqual(payload);
    expect(job?.name).toBe('ConfirmOrder');
  });

  test('uses the queue prefix', async () => {
    const payload = confirmOrder();
    await sender.send('ConfirmOrder', payload);
    expect(await connection.exists(`${prefix}:commands:${payload.commandId}`)).toBe(1);
  });

  test('fails fast with QueueUnavailableError when Redis cannot be reached', async () => {
    const dead = createRedisConnection({ url: 'redis://127.0.0.1:1', role: 'producer' });
    dead.on('error', () => undefined);
    const deadQueue = createQueue(QUEUES.commands, { connection: dead, prefix });
    deadQueue.on('error', () => undefined);
    try {
      const started = Date.now();
      await expect(new BullMqCommandSender(deadQueue, { readyTimeoutMs: 300 }).send('ConfirmOrder', confirmOrder())).rejects.toBeInstanceOf(
        QueueUnavailableError,
      );
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await deadQueue.close();
      dead.disconnect();
    }
  });
});

describe('BullMqCommandSender with per-aggregate ordering', () => {
  const ordered = new BullMqCommandSender(queue, { ordering: { redis: connection, ttlSeconds: 60 } });
  const onOrder = (orderId: string): CommandPayload => ({ ...confirmOrder(), orderId });
  const afterOf = async (payload: CommandPayload) => ((await queue.getJob(payload.commandId))?.data as { after?: string }).after;

  test('each command names the one accepted before it on the same key; other keys are separate lines', async () => {
    const [a, b, c] = [onOrder(ORDER_A), onOrder(ORDER_A), onOrder(ORDER_A)];
    const other = onOrder(ORDER_D);
    for (const payload of [a, b, other, c]) await ordered.send('ConfirmOrder', payload);
    expect(await Promise.all([a, b, c, other].map(afterOf))).toEqual([undefined, a.commandId, b.commandId, undefined]);
    // A product's line is not an order's line, even for the same uuid.
    const restock: CommandPayload = { commandId: confirmOrder().commandId, productId: ORDER_A, quantity: 1 };
    await ordered.send('RestockProduct', restock);
    expect(await afterOf(restock)).toBeUndefined();
    // The job data still parses as the command's payload once `after` is split off.
    expect((await queue.getJob(b.commandId))?.data).toEqual({ ...b, after: a.commandId });
  });

  test('sending a command again (a retried intake) neither changes its predecessor nor its place in line', async () => {
    const [a, b, c] = [onOrder(ORDER_B), onOrder(ORDER_B), onOrder(ORDER_B)];
    await ordered.send('ConfirmOrder', a);
    await ordered.send('ConfirmOrder', b);
    await ordered.send('ConfirmOrder', a);
    await ordered.send('ConfirmOrder', c);
    expect(await Promise.all([a, b, c].map(afterOf))).toEqual([undefined, a.commandId, b.commandId]);
  });

  test('the first command of a new aggregate starts its line without reading it: what follows names it, and its retry moves nothing', async () => {
    const [first, second, third] = [onOrder(ORDER_E), onOrder(ORDER_E), onOrder(ORDER_E)];
    await ordered.send('ConfirmOrder', first, { newAggregate: true });
    await ordered.send('ConfirmOrder', second);
    // A retried intake of the first (same command id) after the second was accepted.
    await ordered.send('ConfirmOrder', first, { newAggregate: true });
    await ordered.send('ConfirmOrder', third);
    expect(await Promise.all([first, second, third].map(afterOf))).toEqual([undefined, first.commandId, second.commandId]);
    expect((await queue.getJob(first.commandId))?.data).toEqual(first);
    expect(await queue.count()).toBe(3);
  });

  test('a first command whose line cannot be started is still queued (it was accepted), and the failure is reported', async () => {
    const dead = createRedisConnection({ url: 'redis://127.0.0.1:1', role: 'producer' });
    dead.on('error', () => undefined);
    const reported: { commandId: string; orderingKey: string }[] = [];
    const sender = new BullMqCommandSender(queue, {
      ordering: { redis: dead, ttlSeconds: 60, onLineNotStarted: ({ commandId, orderingKey }) => reported.push({ commandId, orderingKey }) },
    });
    try {
      const first = onOrder(ORDER_F);
      await sender.send('ConfirmOrder', first, { newAggregate: true });
      expect((await queue.getJob(first.commandId))?.data).toEqual(first);
      expect(reported).toEqual([{ commandId: first.commandId, orderingKey: `order:${ORDER_F}` }]);
    } finally {
      dead.disconnect();
    }
  });

  test('a retry of a command whose job was never added keeps the predecessor it took the first time', async () => {
    const [a, b] = [onOrder(ORDER_C), onOrder(ORDER_C)];
    await ordered.send('ConfirmOrder', a);
    // The first try of b took its place in line, and then the add never happened.
    expect(await takePlaceInLine(connection, queue, `order:${ORDER_C}`, b.commandId, 60)).toBe(a.commandId);
    expect(await queue.getJob(b.commandId)).toBeUndefined();
    await ordered.send('ConfirmOrder', b);
    expect(await afterOf(b)).toBe(a.commandId);
  });

  test('such a retry keeps its place also when later commands took theirs behind it meanwhile: no cycle in the line', async () => {
    const [a, b, c] = [onOrder(ORDER_G), onOrder(ORDER_G), onOrder(ORDER_G)];
    await ordered.send('ConfirmOrder', a);
    // b's first try took its place and lost its add (a 503); c was accepted behind it.
    expect(await takePlaceInLine(connection, queue, `order:${ORDER_G}`, b.commandId, 60)).toBe(a.commandId);
    await ordered.send('ConfirmOrder', c);
    expect(await afterOf(c)).toBe(b.commandId);
    // The client's retry of b (same Idempotency-Key, same command id) goes behind a, not behind c,
    // which waits for b: placed behind c, b and c would wait for each other for ever.
    await ordered.send('ConfirmOrder', b);
    expect(await afterOf(b)).toBe(a.commandId);
  });
});

const ORDER_A = '01930000-0000-7000-8000-00000000a001';
const ORDER_B = '01930000-0000-7000-8000-00000000b001';
const ORDER_C = '01930000-0000-7000-8000-00000000c001';
const ORDER_D = '01930000-0000-7000-8000-00000000d001';
const ORDER_E = '01930000-0000-7000-8000-00000000e001';
const ORDER_F = '01930000-0000-7000-8000-00000000f001';
const ORDER_G = '01930000-0000-7000-8000-00000000f002';

describe('BullMqCommandJobs', () => {
  test('unknown command → null', async () => {
    expect(await jobs.find('01930000-0000-7000-8000-0000000fffff')).toBeNull();
  });

  test('a waiting job is queued', async () => {
    const waiting = confirmOrder();
    await sender.send('ConfirmOrder', waiting);
    expect(await jobs.find(waiting.commandId)).toEqual({
      commandId: waiting.commandId,
      type: 'ConfirmOrder',
      state: 'queued',
      attempts: 0,
      runAt: null,
      error: null,
      waitingFor: null,
      sentBy: null,
    });
  });

  test('a job sent with Run-At is scheduled, due then to the millisecond', async () => {
    const scheduled = confirmOrder();
    const runAt = new Date(Date.now() + 60_000);
    await sender.send('ShipOrder', scheduled, { runAt });
    expect(await jobs.find(scheduled.commandId)).toEqual({
      commandId: scheduled.commandId,
      type: 'ShipOrder',
      state: 'scheduled',
      attempts: 0,
      runAt: runAt.toISOString(),
      error: null,
      waitingFor: null,
      sentBy: null,
    });
  });

  test('a delayed job that has started before waits for a retry: queued, not scheduled', async () => {
    const retrying = confirmOrder();
    await queue.add('ShipOrder', retrying, { jobId: retrying.commandId, attempts: 3, backoff: { type: 'fixed', delay: 60_000 } });
    const worker = new Worker(
      QUEUES.commands,
      async () => {
        throw new Error('connection terminated');
      },
      { connection: workerConnection, prefix },
    );
    try {
      expect(await eventually(() => jobs.find(retrying.commandId), (s) => s?.attempts === 1 && s.state === 'queued')).toMatchObject({
        state: 'queued',
        attempts: 1,
        runAt: null,
      });
      expect(await queue.getJobState(retrying.commandId)).toBe('delayed');
    } finally {
      await worker.close();
    }
  });

  test('remove takes a waiting job off the queue, but not one a worker holds', async () => {
    const waiting = confirmOrder();
    await sender.send('ConfirmOrder', waiting);
    expect(await jobs.remove(waiting.commandId)).toBe(true);
    expect(await jobs.find(waiting.commandId)).toBeNull();

    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = confirmOrder();
    const worker = new Worker(QUEUES.commands, () => gate, { connection: workerConnection, prefix });
    try {
      await sender.send('ConfirmOrder', held);
      await eventually(() => jobs.find(held.commandId), (s) => s?.state === 'running');
      expect(await jobs.remove(held.commandId)).toBe(false);
      expect(await jobs.find(held.commandId)).toMatchObject({ state: 'running' });
    } finally {
      release();
      await worker.close();
    }
  });

  test('a job parked behind its predecessor says which command it waits for', async () => {
    const parked = confirmOrder();
    await queue.add('ShipOrder', { ...parked, after: waitingFor }, { jobId: parked.commandId, delay: 5000 });
    await (await queue.getJob(parked.commandId))!.updateProgress({ waitingFor });
    expect(await jobs.find(parked.commandId)).toMatchObject({ state: 'queued', waitingFor });
  });

  test('running, succeeded and gave_up (its only attempt failed on infrastructure) as a worker moves the jobs', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const worker = new Worker(
      QUEUES.commands,
      async (job) => {
        if (job.name === 'CancelOrder') throw new Error('connection terminated');
        await gate;
        return { ok: true };
      },
      { connection: workerConnection, prefix, concurrency: 2 },
    );
    try {
      const slow = confirmOrder();
      const failing = confirmOrder();
      await sender.send('ConfirmOrder', slow);
      await queue.add('CancelOrder', { ...failing, reason: 'x' }, { jobId: failing.commandId, attempts: 1 });

      expect(await eventually(() => jobs.find(slow.commandId), (s) => s?.state === 'running')).toMatchObject({
        state: 'running',
        attempts: 1,
      });
      expect(await eventually(() => jobs.find(failing.commandId), (s) => s?.state === 'gave_up')).toEqual({
        commandId: failing.commandId,
        type: 'CancelOrder',
        state: 'gave_up',
        attempts: 1,
        runAt: null,
        error: { code: 'infrastructure_error', message: 'connection terminated' },
        waitingFor: null,
        sentBy: null,
      });
      release();
      expect(await eventually(() => jobs.find(slow.commandId), (s) => s?.state === 'succeeded')).toMatchObject({
        state: 'succeeded',
        attempts: 1,
      });
    } finally {
      release();
      await worker.close();
    }
  });
});

describe('RedisIdempotencyStore', () => {
  test('putIfAbsent stores once and then reports what is stored', async () => {
    expect(await store.putIfAbsent('a', 'first', 60)).toBeNull();
    expect(await store.putIfAbsent('a', 'second', 60)).toBe('first');
    expect(await connection.get(`${prefix}:idem:a`)).toBe('first');
    const ttl = await connection.ttl(`${prefix}:idem:a`);
    expect(ttl).toBeGreaterThan(50);
  });

  test('concurrent putIfAbsent: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.putIfAbsent('race', `v${i}`, 60)));
    expect(results.filter((result) => result === null)).toHaveLength(1);
    const winner = await connection.get(`${prefix}:idem:race`);
    expect(results.filter((result) => result !== null).every((result) => result === winner)).toBe(true);
  });
});
