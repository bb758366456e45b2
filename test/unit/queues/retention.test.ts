import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TTL_SECONDS } from '../../../src/api/idempotency.js';
import { ORDERING_LINE_TTL_SECONDS, commandRetryBudgetMs } from '../../../queues/commands.js';
import { DEFAULT_JOB_RETENTION, commandJobLifetimeMs, jobRetentionOptions, processedCommandRule } from '../../../queues/retention.js';

describe('the processed-command retention rule', () => {
  it('counts a command job\'s retries: 40 attempts, backoff from 0.5 s capped at 60 s, about 33 minutes', () => {
    expect(commandRetryBudgetMs()).toBe(1_983_500);
    // Doubled for a command parked behind a predecessor that is retrying, to the minute.
    expect(commandJobLifetimeMs()).toBe(67 * 60_000);
  });

  it('is the longest window in which a job of the command can still run, plus that lifetime', () => {
    const DAY = 86_400_000;
    expect(processedCommandRule(DEFAULT_JOB_RETENTION.commands).minimumMs).toBe(7 * DAY + 67 * 60_000);
    expect(processedCommandRule({ completedMs: 2 * DAY, failedMs: 3600_000 }).minimumMs).toBe(2 * DAY + 67 * 60_000);
    expect(processedCommandRule({ completedMs: 60_000, failedMs: 60_000 })).toMatchObject({
      minimumMs: ORDERING_LINE_TTL_SECONDS * 1000 + 67 * 60_000,
      because: expect.stringMatching(/ordering line/),
    });
  });

  it('covers a retried intake too: an Idempotency-Key resends its command id for no longer than the ordering line lives', () => {
    expect(IDEMPOTENCY_TTL_SECONDS).toBeLessThanOrEqual(ORDERING_LINE_TTL_SECONDS);
  });
});

describe('job retention options', () => {
  it('turns ages into BullMQ seconds, with a cap on how many finished jobs are kept', () => {
    expect(jobRetentionOptions({ completedMs: 3600_000, failedMs: 1500 })).toEqual({
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 2, count: 50_000 },
    });
  });
});
