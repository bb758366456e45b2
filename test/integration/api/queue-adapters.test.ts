import { Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type CommandPayload, QUEUES } from '../../../queues/index.js';
import { createRedisConnection } from '../../../src/infrastructure/redis/connection.js';
import type { CommandSender, IdempotencyStore } from '../../../src/api/ports.js';
import { RedisIdempotencyStore } from '../../../src/infrastructure/idempotency/redis-idempotency-store.js';
import { BullMqCommandJobs } from '../../../src/infrastructure/queue/bullmq-command-jobs.js';
import { BullMqCommandSender, QueueUnavailableError } from '../../../src/infrastructure/queue/bullmq-command-sender.js';
import { createQueue } from '../../../src/infrastructure/queue/queues.js';
import { REDIS_URL } from '../../support/config.js';
import { uniquePrefix } from '../../support/redis-keys.js';

const prefix = uniquePrefix('api');
const connection = createRedisConnection({ url: REDIS_URL, role: 'producer' });
const workerConnection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
const queue = createQueue(QUEUES.commands, { connection, prefix });
const sender: CommandSender = new BullMqCommandSender(queue);
const jobs = new BullMqCommandJobs(queue);
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

  test('running, succeeded and failed as a worker moves the jobs', async () => {
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
      expect(await eventually(() => jobs.find(failing.commandId), (s) => s?.state === 'failed')).toEqual({
        commandId: failing.commandId,
        type: 'CancelOrder',
        state: 'failed',
        attempts: 1,
        runAt: null,
        error: { code: 'infrastructure_error', message: 'connection terminated' },
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
