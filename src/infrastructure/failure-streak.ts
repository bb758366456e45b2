import type { Logger } from './logger.js';

/**
 * The log of a task that runs again and again (a relay poll, a sweep every second) and can fail
 * for as long as a backing service is down: the first failure of a streak is logged at once,
 * then at most one line every `everyMs` while it goes on (saying how many failures it stands
 * for), and one line when the task works again. Without it, PostgreSQL down for an hour wrote
 * the same error 3,600 times from each such task.
 */
export class FailureStreak {
  private failures = 0;
  private unreported = 0;
  private startedAt = 0;
  private reportedAt = 0;

  constructor(
    private readonly logger: Pick<Logger, 'error' | 'warn'>,
    /** The failure's line, e.g. 'relay batch failed; will retry'. */
    private readonly message: string,
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  failed(error: unknown): void {
    const now = this.now();
    this.failures += 1;
    if (this.failures === 1) {
      this.startedAt = now;
      this.reportedAt = now;
      this.logger.error({ err: error }, this.message);
      return;
    }
    this.unreported += 1;
    if (now - this.reportedAt < this.everyMs) return;
    this.logger.error({ err: error, failures: this.unreported, failingForMs: now - this.startedAt }, `${this.message} (still failing)`);
    this.unreported = 0;
    this.reportedAt = now;
  }

  succeeded(): void {
    if (this.failures === 0) return;
    this.logger.warn({ failures: this.failures, failedForMs: this.now() - this.startedAt }, `${this.message}: works again`);
    this.failures = 0;
    this.unreported = 0;
  }
}
