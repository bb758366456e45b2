import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { gaveUpRow, hasGivenUp } from '../../../../src/infrastructure/triage/gave-up-commands.js';

// Which failed command jobs gave up (and are listed for retry), told from those the worker
// failed on purpose; and the row each becomes.

const commandId = '0193a5b0-0000-7000-8000-000000000001';
const orderId = '0193a5b0-0000-7000-8000-0000000000aa';

function failedJob(failedReason: string, attemptsMade: number, overrides: Partial<Job> = {}): Job {
  return {
    id: commandId,
    name: 'ConfirmOrder',
    data: { commandId, orderId, after: '0193a5b0-0000-7000-8000-0000000000bb' },
    opts: { attempts: 3 },
    attemptsMade,
    failedReason,
    finishedOn: Date.parse('2026-12-02T13:00:00.000Z'),
    ...overrides,
  } as Job;
}

describe('hasGivenUp', () => {
  it.each([
    ['an infrastructure error on the last attempt', 'connect ECONNREFUSED 127.0.0.1:5432', 3, true],
    ["BullMQ's stall limit, before the last attempt", 'job stalled more than allowable limit', 1, true],
    ['a domain failure', 'order_not_found: there is no order', 1, false],
    ['a domain failure on the last attempt (its outcome row wins)', 'invalid_transition: no', 3, true],
    ['a refused payload', 'invalid_payload: items', 1, false],
    ['a refused payload on the last attempt', 'unknown_command: no command type "X"', 3, false],
  ])('%s → %s', (_, reason, attempts, expected) => {
    expect(hasGivenUp(failedJob(reason, attempts))).toBe(expected);
  });
});

describe('gaveUpRow', () => {
  it('keeps what a retry needs and what the listing shows', () => {
    expect(gaveUpRow(failedJob('connect ECONNREFUSED 127.0.0.1:5432', 3))).toEqual({
      command_id: commandId,
      command_type: 'ConfirmOrder',
      aggregate_key: `order:${orderId}`,
      payload: { commandId, orderId, after: '0193a5b0-0000-7000-8000-0000000000bb' },
      error: { code: 'infrastructure_error', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
      attempts: 3,
      gave_up_at: '2026-12-02T13:00:00.000Z',
    });
  });

  it('is null for a job the worker failed on purpose, or one that is no command', () => {
    expect(gaveUpRow(failedJob('order_not_found: none', 1))).toBeNull();
    expect(gaveUpRow(failedJob('connect ECONNREFUSED', 3, { name: 'DropTables' }))).toBeNull();
  });
});
