// The ids conveyor makes (src/infrastructure/ids.ts): commands, aggregates, outbox rows,
// emails, deliveries, attempts. The relay publishes outbox rows `order by id` and the lists page by id, so ids
// made within one millisecond must still sort in the order they were made.
import { uuidv7 } from '../../../src/infrastructure/ids.js';
import { describe, expect, it } from 'vitest';
import { assertId } from '../../../src/domain/index.js';

describe('ids', () => {
  it('made in a burst sort in the order they were made, and are distinct lower-case UUIDv7s', () => {
    const started = Date.now();
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    // A burst: many ids share each millisecond.
    expect(Date.now() - started).toBeLessThan(ids.length / 2);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(assertId(id)).toBe(id);
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
  });
});
