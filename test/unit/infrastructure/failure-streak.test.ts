// A task that runs every second and fails while a backing service is down (the relay's poll,
// the order expiry sweep) logs the streak, not every failure: the first at once, then a line a
// minute with how many it stands for, and a line when it works again.
import type pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FailureStreak } from '../../../src/infrastructure/failure-streak.js';
import type { Logger } from '../../../src/infrastructure/logger.js';
import { PeriodicTask } from '../../../src/infrastructure/periodic.js';
import { OutboxRelay } from '../../../src/infrastructure/relay/outbox-relay.js';
import { Sweeper } from '../../../src/infrastructure/relay/sweeper.js';
import { emailJobOptions } from '../../../queues/emails.js';
import { webhookJobOptions } from '../../../queues/webhooks.js';

function capturingLogger() {
  const lines: { level: 'error' | 'warn'; fields: Record<string, unknown>; message: string }[] = [];
  const logger = {
    error: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'error', fields, message }),
    warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', fields, message }),
  } as unknown as Logger;
  return { logger, lines };
}

/** A pg pool whose `method` is refused while `down()` says so, and answers `answer` otherwise. */
function refusingWhile(down: () => boolean, method: 'query' | 'connect', answer: unknown): pg.Pool {
  const refusing = async () => {
    if (down()) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return answer;
  };
  return { [method]: refusing } as unknown as pg.Pool;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('FailureStreak', () => {
  it('logs the first failure, then a line a minute with the failures since the last, then that it works again', () => {
    const { logger, lines } = capturingLogger();
    let now = 0;
    const streak = new FailureStreak(logger, 'sweep failed', 60_000, () => now);
    const down = new Error('connect ECONNREFUSED');
    for (; now <= 120_000; now += 1000) streak.failed(down);
    streak.succeeded();
    streak.succeeded();
    expect(lines.map(({ level, message }) => `${level} ${message}`)).toEqual([
      'error sweep failed',
      'error sweep failed (still failing)',
      'error sweep failed (still failing)',
      'warn sweep failed: works again',
    ]);
    expect(lines[0]?.fields).toEqual({ err: down });
    expect(lines[1]?.fields).toEqual({ err: down, failures: 60, failingForMs: 60_000 });
    expect(lines[2]?.fields).toEqual({ err: down, failures: 60, failingForMs: 120_000 });
    expect(lines[3]?.fields).toEqual({ failures: 121, failedForMs: 121_000 });

    // A new streak is logged at once again.
    streak.failed(down);
    expect(lines).toHaveLength(5);
    expect(lines[4]?.message).toBe('sweep failed');
  });

  it('serves a PeriodicTask: a pass failing every tick is one line, and its recovery another', async () => {
    vi.useFakeTimers();
    const { logger, lines } = capturingLogger();
    let failing = true;
    const task = new PeriodicTask(
      async () => {
        if (failing) throw new Error('PostgreSQL is down');
      },
      1000,
      new FailureStreak(logger, 'order expiry sweep failed'),
    );
    task.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(lines.map((line) => line.message)).toEqual(['order expiry sweep failed']);
    failing = false;
    await vi.advanceTimersByTimeAsync(1000);
    await task.stop();
    expect(lines.map((line) => line.message)).toEqual(['order expiry sweep failed', 'order expiry sweep failed: works again']);
    expect(lines[1]?.fields).toMatchObject({ failures: 30 });
  });
});

describe('the sweeper, while PostgreSQL and Redis are down', () => {
  it('logs the sweep and the restoring of job schedulers once each, not every pass, and each recovery', async () => {
    vi.useFakeTimers();
    const { logger, lines } = capturingLogger();
    let postgresDown = true;
    let redisDown = true;
    const pool = refusingWhile(() => postgresDown, 'query', { rows: [] });
    const queue = {} as never;
    const sweeper = new Sweeper({
      pool,
      emails: queue,
      webhooks: queue,
      emailJobOptions,
      webhookJobOptions: webhookJobOptions([60]),
      logger,
      intervalMs: 1000,
      alsoRestore: {
        execute: async () => {
          if (redisDown) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
          return 0;
        },
      },
    });
    sweeper.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(lines.map((line) => `${line.level} ${line.message}`).sort()).toEqual([
      'error restoring job schedulers failed',
      'error sweep failed',
    ]);
    postgresDown = false;
    await vi.advanceTimersByTimeAsync(1000);
    redisDown = false;
    await vi.advanceTimersByTimeAsync(1000);
    await sweeper.stop();
    expect(lines.slice(2).map((line) => `${line.level} ${line.message}`)).toEqual([
      'warn sweep failed: works again',
      'warn restoring job schedulers failed: works again',
    ]);
    expect(lines.slice(2).map((line) => line.fields['failures'])).toEqual([30, 31]);
  });
});

describe('the relay, polled while PostgreSQL is down', () => {
  it('logs its failed batches once, not once a poll, and says when it works again', async () => {
    const { logger, lines } = capturingLogger();
    let down = true;
    // A claim that finds nothing to relay: BEGIN, the claim, the endpoints; then COMMIT.
    const client = {
      query: async (text: string) => (text === 'commit' ? { rows: [] } : [{ rows: [] }, { rows: [] }, { rows: [] }]),
      release: () => undefined,
    };
    const pool = refusingWhile(() => down, 'connect', client);
    const queue = {} as never;
    const relay = new OutboxRelay({
      pool,
      emails: queue,
      webhooks: queue,
      policies: { buildWebhookBody: () => '{}', emailJobOptions, webhookJobOptions: webhookJobOptions([60]) },
      logger,
    });
    const poll = async () => {
      relay.wake();
      for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    };
    for (let i = 0; i < 10; i += 1) await poll();
    expect(lines.map((line) => `${line.level} ${line.message}`)).toEqual(['error relay batch failed; will retry']);
    down = false;
    await poll();
    await poll();
    expect(lines.map((line) => `${line.level} ${line.message}`)).toEqual([
      'error relay batch failed; will retry',
      'warn relay batch failed; will retry: works again',
    ]);
    expect(lines[1]?.fields).toMatchObject({ failures: 10 });
  });
});
