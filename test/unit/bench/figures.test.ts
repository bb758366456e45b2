// The bench's report prints a ratio beside its target's verdict: the text must not read as the
// other side of the target (a "0.95" beside "≥ 0.95: NOT met"). And a latency measured at a
// lower rate than the one offered says so.
import { describe, expect, it } from 'vitest';
import { atRate } from '../../../bench/lib/report.js';
import { beside } from '../../../bench/lib/stats.js';

const atLeast = (target: number) => (shown: number) => shown >= target;
const atMost = (target: number) => (shown: number) => shown <= target;

describe('a figure printed beside its target', () => {
  it('has two decimals when they fall on the side of the target the value is on', () => {
    expect(beside(0.58, atLeast(0.6))).toBe('0.58');
    expect(beside(1.0912, atLeast(0.7))).toBe('1.09');
    expect(beside(1.2, atLeast(1.2))).toBe('1.20');
    expect(beside(0.9512, atLeast(0.95))).toBe('0.95');
    expect(beside(5.28, atMost(3))).toBe('5.28');
  });

  it('has as many more as it takes not to round onto the target', () => {
    expect(beside(0.9492, atLeast(0.95))).toBe('0.949');
    expect(beside(0.59996, atLeast(0.6))).toBe('0.59996');
    expect(beside(3.004, atMost(3))).toBe('3.004');
    expect(beside(0.123456789, atLeast(0.2), 8)).toBe('0.12345679');
  });

  it('past six decimals, rounds away from the side the value is not on', () => {
    expect(beside(0.9499999, atLeast(0.95))).toBe('0.949999');
    expect(beside(3.0000001, atMost(3))).toBe('3.000001');
  });

  it('reads n/a for a figure that was not measured', () => {
    expect(beside(Number.NaN, atLeast(0.95))).toBe('n/a');
  });
});

describe('the rate of a paced round', () => {
  it('is the offered rate when the source kept to it', () => {
    expect(atRate({ offeredPerSecond: 500, achievedPerSecond: 497.2 }, 'committed')).toBe('500/s');
    expect(atRate({ offeredPerSecond: 50, achievedPerSecond: 48 }, 'accepted')).toBe('50/s');
  });

  it('also says what the source achieved when it fell more than 5 % short', () => {
    expect(atRate({ offeredPerSecond: 500, achievedPerSecond: 354.26 }, 'committed')).toBe('500/s (354/s committed)');
    expect(atRate({ offeredPerSecond: 200, achievedPerSecond: 171.4 }, 'accepted')).toBe('200/s (171/s accepted)');
  });
});
