import pg from 'pg';
import { vi } from 'vitest';

export interface Trips {
  /** How many queries of text went to PostgreSQL. */
  readonly count: number;
  /** Their texts, as sent (MikroORM inlines the values). */
  readonly texts: string[];
  /** Stops recording (vi.restoreAllMocks does too). */
  stop(): void;
}

/** Records the trips to PostgreSQL from now on: each is one call of pg's own Client.query. */
export function recordTrips(): Trips {
  const texts: string[] = [];
  const original = pg.Client.prototype.query;
  const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    if (typeof args[0] === 'string') texts.push(args[0]);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  });
  return {
    get count() {
      return texts.length;
    },
    texts,
    stop: () => spy.mockRestore(),
  };
}
