import { describe, expect, it } from 'vitest';
import { commandBackoff, commandJobOptions } from '../../queues/commands.js';

const delay = (attemptsMade: number) => commandBackoff(attemptsMade, 'command-backoff') as number;

describe('command retry backoff', () => {
  it('starts at half a second and doubles, with at most half taken off as jitter', () => {
    for (const [attempt, base] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [7, 32_000],
    ] as const) {
      for (let i = 0; i < 50; i++) {
        const d = delay(attempt);
        expect(d).toBeGreaterThanOrEqual(base / 2);
        expect(d).toBeLessThanOrEqual(base);
      }
    }
  });

  it('never waits more than a minute between attempts', () => {
    for (let attempt = 8; attempt <= 40; attempt++) expect(delay(attempt)).toBeLessThanOrEqual(60_000);
  });

  it('keeps a command retrying through about half an hour of outage', () => {
    const attempts = commandJobOptions.attempts ?? 1;
    let shortest = 0;
    for (let n = 1; n < attempts; n++) shortest += Math.min(60_000, 500 * 2 ** (n - 1)) / 2;
    expect(shortest / 60_000).toBeGreaterThan(15);
  });
});
