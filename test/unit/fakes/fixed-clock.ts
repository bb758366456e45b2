import type { Clock } from '../../../src/application/clock.js';

/** A clock that stands still until a test moves it. */
export class FixedClock implements Clock {
  private instant: number;

  constructor(start: Date | string = '2025-03-14T09:26:53.000Z') {
    this.instant = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.instant);
  }

  advance(milliseconds: number): void {
    this.instant += milliseconds;
  }
}
