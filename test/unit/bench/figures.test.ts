// The bench's report prints a ratio beside its target's verdict: the text must not read as the
// other side of the target (a "0.95" beside "≥ 0.95: NOT met").
import { describe, expect, it } from 'vitest';
import { beside } from '../../../bench/lib/stats.js';

describe('a figure printed beside its target', () => {
  it('has two decimals when they fall on the side of the target the value is on', () => {
    expect(beside(0.58, 0.6)).toBe('0.58');
    expect(beside(1.0912, 0.7)).toBe('1.09');
    expect(beside(1.2, 1.2)).toBe('1.20');
    expect(beside(0.9512, 0.95)).toBe('0.95');
  });

  it('has as many more as it takes not to round onto the target', () => {
    expect(beside(0.9492, 0.95)).toBe('0.949');
    expect(beside(0.59996, 0.6)).toBe('0.59996');
  });

  it('stops at six decimals', () => {
    expect(beside(1.19999999, 1.2)).toBe('1.200000');
  });

  it('reads n/a for a figure that was not measured', () => {
    expect(beside(Number.NaN, 0.95)).toBe('n/a');
  });
});
