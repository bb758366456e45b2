import pg from 'pg';
import { vi } from 'vitest';

export interface Trips {
  /** How many queries of text went to PostgreSQL. */
  readonly count: number;
  /** Their texts, as sent (MikroORM inlines the values; a prepared statement's is its text). */
  readonly texts: string[];
  /** Stops recording (vi.restoreAllMocks does too). */
  stop(): void;
}

/** Records the trips to PostgreSQL from now on: each is one call of pg's own Client.query. */
export function recordTrips(): Trips {
  const texts: string[] = [];
  const original = pg.Client.prototype.query;
  const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    const [query] = args;
    if (typeof query === 'string') texts.push(query);
    // A prepared statement goes as a config object ({ name, text, values }).
    else if (typeof query === 'object' && query !== null && typeof (query as { text?: unknown }).text === 'string') texts.push((query as { text: string }).text);
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
