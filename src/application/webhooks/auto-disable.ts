/** What DeliverWebhook asks the repository to do when the rule applies. */
export interface AutoDisable {
  reason: string;
  /**
   * The streak must still have begun at or before this moment when the endpoint is disabled
   * (now − WEBHOOK_DISABLE_AFTER): a success recorded meanwhile by another attempt ends it.
   */
  ifFailingSinceBy: Date;
}

/**
 * The WEBHOOK_DISABLE_AFTER rule: an endpoint whose every attempt has failed for at least
 * `disableAfterMs` is disabled. `failingSince` is the time of the first attempt that failed
 * after the endpoint's last successful one (null when the last attempt succeeded), as it was
 * before the failed attempt made `now`. Null when the rule does not apply yet.
 *
 * The streak counts attempts, not time with traffic: an endpoint that failed once, got no
 * delivery for a week, then failed again has failed every attempt for a week.
 */
export function autoDisable(failingSince: Date | null, now: Date, disableAfterMs: number): AutoDisable | null {
  if (failingSince === null) return null;
  const cutoff = new Date(now.getTime() - disableAfterMs);
  if (failingSince.getTime() > cutoff.getTime()) return null;
  return {
    reason: `every attempt failed for ${formatDuration(disableAfterMs)} or more, since ${failingSince.toISOString()} (WEBHOOK_DISABLE_AFTER)`,
    ifFailingSinceBy: cutoff,
  };
}

const UNITS: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** `5d`, `36h`, `90s`, `1500ms`: the largest unit that divides the duration, as WEBHOOK_DISABLE_AFTER is written. */
export function formatDuration(ms: number): string {
  const unit = UNITS.find(([, size]) => ms > 0 && ms % size === 0);
  return unit ? `${ms / unit[1]}${unit[0]}` : `${ms}ms`;
}
