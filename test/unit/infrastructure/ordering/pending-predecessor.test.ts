// The ordering gate's rule (docs/adr/0006-per-aggregate-ordering.md): a command runs once its
// predecessor has an outcome — and a predecessor cancelled while it waited in line hands its
// place to the command it was waiting for.
import { describe, expect, it } from 'vitest';
import { missingLinks, pendingPredecessor, type GateOutcome } from '../../../../src/infrastructure/ordering/predecessor.js';

const outcomes = (entries: [string, GateOutcome][]) => new Map(entries);
const done = (status = 'succeeded'): GateOutcome => ({ status, result: null });
const cancelledBehind = (after: string | null): GateOutcome => ({ status: 'cancelled', result: after === null ? null : { after } });

describe('pendingPredecessor', () => {
  it('waits for a predecessor without an outcome, and for nothing once it has one, failed or not', () => {
    expect(pendingPredecessor('a', outcomes([]))).toBe('a');
    expect(pendingPredecessor('a', outcomes([['a', done()]]))).toBeUndefined();
    expect(pendingPredecessor('a', outcomes([['a', done('failed')]]))).toBeUndefined();
  });

  it('waits for what a cancelled predecessor was waiting for, down a chain of cancels', () => {
    expect(pendingPredecessor('b', outcomes([['b', cancelledBehind('a')]]))).toBe('a');
    expect(pendingPredecessor('b', outcomes([['b', cancelledBehind('a')], ['a', done()]]))).toBeUndefined();
    const chain = outcomes([
      ['c', cancelledBehind('b')],
      ['b', cancelledBehind('a')],
    ]);
    expect(pendingPredecessor('c', chain)).toBe('a');
  });

  it('does not wait behind a cancelled predecessor that was first in line, nor loop on a recorded cycle', () => {
    expect(pendingPredecessor('b', outcomes([['b', cancelledBehind(null)]]))).toBeUndefined();
    const cycle = outcomes([
      ['a', cancelledBehind('b')],
      ['b', cancelledBehind('a')],
    ]);
    expect(pendingPredecessor('a', cycle)).toBeUndefined();
  });
});

describe('missingLinks', () => {
  it('asks for nothing more without a cancel in a line: a missing predecessor is simply pending', () => {
    expect(missingLinks(['a', undefined, 'b'], outcomes([['b', done()]]), new Set())).toEqual([]);
  });

  it('asks for the command a cancelled predecessor was waiting for, once, and for the next link once that one is read', () => {
    const known = outcomes([['c', cancelledBehind('b')]]);
    expect(missingLinks(['c', 'c'], known, new Set())).toEqual(['b']);
    known.set('b', cancelledBehind('a'));
    expect(missingLinks(['c'], known, new Set(['b']))).toEqual(['a']);
    // Read and not there: a is pending, and not asked for again.
    expect(missingLinks(['c'], known, new Set(['b', 'a']))).toEqual([]);
    expect(pendingPredecessor('c', known)).toBe('a');
  });
});
