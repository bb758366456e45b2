import { describe, expect, it } from 'vitest';
import { isSettled, statusSequence, transitions } from '../../../../src/application/commerce/queries/command-status-events.js';
import type { CommandStatusDto } from '../../../../src/application/commerce/queries/get-command-status.js';

const ID = '01930000-0000-7000-8000-000000000001';
const at = (status: CommandStatusDto['status'], attempts: number, extra: Partial<CommandStatusDto> = {}): CommandStatusDto => ({
  commandId: ID,
  type: 'RegisterUser',
  status,
  attempts,
  ...extra,
});

describe('statusSequence', () => {
  it('increases along every path a command can take', () => {
    const paths: CommandStatusDto[][] = [
      [at('queued', 0), at('running', 1), at('succeeded', 1)],
      [at('scheduled', 0), at('queued', 0), at('running', 1), at('failed', 1)],
      [at('queued', 0), at('running', 1), at('queued', 1), at('running', 2), at('queued', 2), at('running', 3), at('succeeded', 3)],
      [at('scheduled', 0), at('cancelled', 0)],
      [at('queued', 0), at('cancelled', 0)],
      [at('scheduled', 0), at('running', 1), at('succeeded', 1)],
    ];
    for (const path of paths) {
      const numbers = path.map(statusSequence);
      expect(numbers, path.map((s) => s.status).join(' → ')).toEqual([...numbers].sort((a, b) => a - b));
      expect(new Set(numbers).size).toBe(numbers.length);
    }
  });

  it('numbers the usual life 0, 1, 2, 3', () => {
    expect([at('scheduled', 0), at('queued', 0), at('running', 1), at('succeeded', 1)].map(statusSequence)).toEqual([0, 1, 2, 3]);
  });

  it('puts a final status after the last attempt, whatever it is', () => {
    expect(statusSequence(at('failed', 40))).toBeGreaterThan(statusSequence(at('running', 40)));
    expect(statusSequence(at('failed', 40))).toBeLessThan(statusSequence(at('queued', 40)));
  });
});

describe('isSettled', () => {
  it('is true for the final statuses only', () => {
    expect(['queued', 'scheduled', 'running', 'succeeded', 'failed', 'cancelled'].filter((s) => isSettled(s as never))).toEqual([
      'succeeded',
      'failed',
      'cancelled',
    ]);
  });
});

describe('transitions', () => {
  const statuses = (list: CommandStatusDto[]) => list.map((s) => `${s.status}/${s.attempts}`);

  it('reports the current status when it is newer than the last one reported', () => {
    expect(statuses(transitions(-1, [], at('queued', 0)))).toEqual(['queued/0']);
    expect(statuses(transitions(1, ['running'], at('running', 1)))).toEqual(['running/1']);
    expect(transitions(2, ['running'], at('running', 1))).toEqual([]);
  });

  it('reports the start the queue signalled before an outcome that was read already', () => {
    const succeeded = at('succeeded', 1, { result: { userId: 'u' } });
    expect(statuses(transitions(1, ['running', 'settled'], succeeded))).toEqual(['running/1', 'succeeded/1']);
    // The synthetic status carries no result: only the final one does.
    expect(transitions(1, ['running'], succeeded)[0]).toEqual(at('running', 1));
  });

  it('reports a due scheduled command as queued, then running, then its outcome, from one read', () => {
    expect(statuses(transitions(0, ['queued', 'running', 'settled'], at('succeeded', 1)))).toEqual(['queued/0', 'running/1', 'succeeded/1']);
  });

  it('reports a retry: queued again before the next attempt', () => {
    expect(statuses(transitions(2, ['delayed', 'queued', 'running'], at('running', 2)))).toEqual(['queued/1', 'running/2']);
  });

  it('never reports what comes before the last status reported (Last-Event-ID)', () => {
    expect(statuses(transitions(2, ['queued', 'running', 'settled'], at('succeeded', 1)))).toEqual(['succeeded/1']);
    expect(transitions(3, ['settled'], at('succeeded', 1))).toEqual([]);
  });

  it('reports a cancelled command as cancelled only: it never ran', () => {
    expect(statuses(transitions(0, ['queued', 'running', 'settled'], at('cancelled', 0)))).toEqual(['cancelled/0']);
  });
});
