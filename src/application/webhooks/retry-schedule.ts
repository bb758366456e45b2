/** Each retry delay is spread by up to ±20 % so that failed deliveries do not retry in lockstep. */
export const RETRY_JITTER = 0.2;

/**
 * The delay before the next attempt, after `failedAttempts` attempts of a job have failed:
 * `schedule[failedAttempts - 1]` seconds ± 20 %, in milliseconds, never negative. Null once the
 * schedule is exhausted (the delivery has failed for good).
 */
export function retryDelayMs(
  schedule: readonly number[],
  failedAttempts: number,
  random: () => number = Math.random,
): number | null {
  const seconds = schedule[failedAttempts - 1];
  if (seconds === undefined || failedAttempts < 1) return null;
  const spread = (random() * 2 - 1) * RETRY_JITTER;
  return Math.max(0, Math.round(seconds * 1000 * (1 + spread)));
}
