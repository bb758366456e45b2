import type { FailureStreak } from './failure-streak.js';

/**
 * Runs `pass` every `intervalMs`, never two at once (a pass still running when the next is due
 * is not doubled), telling `failures` how each pass went, so a streak of failed passes (a
 * backing service down) is logged as a streak, not a line a pass; `stop` waits for the pass in
 * progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly failures: Pick<FailureStreak, 'failed' | 'succeeded'>,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.pass()
        .then(
          () => this.failures.succeeded(),
          (error: unknown) => this.failures.failed(error),
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
