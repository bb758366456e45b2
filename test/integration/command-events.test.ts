import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUEUES } from '../../queues/index.js';
import type { QueueSignal } from '../../src/application/commerce/queries/command-status-events.js';
import { createLogger } from '../../src/infrastructure/logger.js';
import { BullMqCommandEvents } from '../../src/infrastructure/queue/bullmq-command-events.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { REDIS_URL } from '../support/config.js';
import { startPrivateRedis } from '../support/private-redis.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { sleep, within } from '../support/wait.js';

// The web process's command events on real Redis: the stream is read only while someone
// watches, and a watcher gets every signal after its subscription resolves.

const prefix = uniquePrefix('events');
const connection = createRedisConnection({ url: REDIS_URL, role: 'producer' });
const queue = createQueue(QUEUES.commands, { connection, prefix });
const IDLE_MS = 200;
let events: BullMqCommandEvents;

beforeAll(async () => {
  await queue.waitUntilReady();
  events = await BullMqCommandEvents.open({ redisUrl: REDIS_URL, prefix, logger: createLogger({ level: 'silent', role: 'test' }), idleMs: IDLE_MS });
});

afterAll(async () => {
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
});

let n = 0;
const commandId = () => `01930000-0000-7000-8000-${String(++n).padStart(12, '0')}`;

/** Subscribes and collects the command's signals. */
async function watch(id: string): Promise<{ signals: QueueSignal[]; unsubscribe: () => void }> {
  const signals: QueueSignal[] = [];
  const unsubscribe = await events.subscribe(id, (signal) => signals.push(signal));
  return { signals, unsubscribe };
}

describe('BullMqCommandEvents', () => {
  test('reads the stream only while someone watches, and a watcher misses nothing after its subscription resolves', async () => {
    // Jobs come and go while nobody watches: nothing reads them.
    await queue.add('ConfirmOrder', {}, { jobId: commandId() });
    expect(events.reading).toBe(false);

    const first = commandId();
    const watcher = await watch(first);
    expect(events.reading).toBe(true);
    // Added right after the subscription resolved: the reader was positioned before it.
    await queue.add('ConfirmOrder', {}, { jobId: first });
    await within('the queued signal', 5000, async () => watcher.signals.includes('queued'));
    await (await queue.getJob(first))!.remove();
    await within('the settled signal', 5000, async () => watcher.signals.includes('settled'));
    expect(watcher.signals).toEqual(['queued', 'settled']);

    watcher.unsubscribe();
    expect(events.watchers).toBe(0);
    // Still read for the idle time (a watcher coming back soon needs no new start) …
    expect(events.reading).toBe(true);
    // … and not after it.
    await within('the reader to stop', 5000, async () => !events.reading);

    // The next watcher starts it again, from where the stream is now.
    const second = commandId();
    const again = await watch(second);
    await queue.add('ConfirmOrder', {}, { jobId: second });
    await within('the queued signal after a restart', 5000, async () => again.signals.includes('queued'));
    again.unsubscribe();
  });

  test('a watcher coming and going within the idle time moves the stop to after the last one left', async () => {
    const slow = await BullMqCommandEvents.open({ redisUrl: REDIS_URL, prefix, logger: createLogger({ level: 'silent', role: 'test' }), idleMs: 2000 });
    try {
      const id = commandId();
      const one = await slow.subscribe(id, () => undefined);
      one(); // the reader would stop 2000 ms from here …
      await sleep(500);
      const two = await slow.subscribe(id, () => undefined);
      await sleep(500);
      two(); // … but a watcher came and went: 2000 ms from here instead
      await sleep(1500);
      expect(slow.reading).toBe(true);
      await within('the reader to stop', 5000, async () => !slow.reading);
    } finally {
      await slow.close();
    }
  });

  test('with Redis away a subscription waits, and close() ends it at once instead of waiting for Redis', async () => {
    const redis = await startPrivateRedis({ appendonly: false });
    try {
      const away = await BullMqCommandEvents.open({ redisUrl: redis.url, prefix, logger: createLogger({ level: 'silent', role: 'test' }) });
      await redis.stop('SIGKILL');
      let outcome = 'pending';
      const subscribing = away.subscribe(commandId(), () => undefined).then(
        () => (outcome = 'held'),
        () => (outcome = 'rejected'),
      );
      await sleep(500);
      expect(outcome).toBe('pending');
      const closedIn = performance.now();
      await away.close();
      await subscribing;
      expect(outcome).toBe('rejected');
      expect(performance.now() - closedIn).toBeLessThan(2000);
    } finally {
      await redis.cleanup();
    }
  });
});
