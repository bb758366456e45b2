import type { FailureStreak } from './failure-streak.js';

/**
 * Runs `pass` every `intervalMs`, never two at once (a pass still running when the next is due
 * is not doubled), reporting a failed pass to `onError` — or, given a FailureStreak, logging a
 * streak of failed passes without a line for each; `stop` waits for the pass in progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: ((error: unknown) => void) | FailureStreak,
  ) {}

  start(): void {
    const errors = this.onError;
    this.timer = setInterval(() => {
      this.running ??= this.pass()
        .then(
          () => {
            if (typeof errors !== 'function') errors.succeeded();
          },
          (error: unknown) => (typeof errors === 'function' ? errors(error) : errors.failed(error)),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
