// The ids conveyor makes (src/infrastructure/ids.ts): commands, aggregates, outbox rows,
// emails, deliveries, attempts. The relay publishes outbox rows `order by id` and the lists page by id, so ids
// made within one millisecond must still sort in the order they were made.
import { PooledCryptoRandom, uuidv7 } from '../../../src/infrastructure/ids.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertId } from '../../../src/domain/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ids', () => {
  it('made after the clock steps back, by a minute or by a day, still sort after those made before', () => {
    const before = Array.from({ length: 100 }, () => uuidv7());
    const now = Date.now();
    for (const back of [60_000, 86_400_000]) {
      vi.spyOn(Date, 'now').mockReturnValue(now - back);
      const after = Array.from({ length: 100 }, () => uuidv7());
      expect([...before, ...after].sort()).toEqual([...before, ...after]);
      before.push(...after);
    }
    vi.restoreAllMocks();
    const later = uuidv7();
    expect([...before, later].sort().at(-1)).toBe(later);
  });

  it('draw their random bits afresh: each 4 KiB the pool draws is new', () => {
    const random = new PooledCryptoRandom();
    const pools = Array.from({ length: 3 }, () => Array.from({ length: 1024 }, () => random.nextUint32()));
    for (const pool of pools) {
      expect(pool.every((word) => Number.isInteger(word) && word >= 0 && word < 2 ** 32)).toBe(true);
      expect(new Set(pool).size).toBeGreaterThan(1000);
    }
    expect(new Set(pools.flat()).size).toBeGreaterThan(3000);
  });

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
