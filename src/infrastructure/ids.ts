import { randomFillSync } from 'node:crypto';
import { V7Generator } from 'uuidv7';

/**
 * The random numbers behind the ids, drawn from the CSPRNG 4 KiB at a time, as Node's own
 * `crypto.randomUUID` draws many ids' worth at once: each call into it costs microseconds
 * whatever its size (uuid 14's v7 made one per id, 6 µs an id on a slow machine of the kind,
 * a tenth of the web process's CPU under intake load; docs/benchmarks.md, twentieth pass).
 */
export class PooledCryptoRandom {
  private readonly pool = new Uint32Array(1024);
  private next = this.pool.length;

  nextUint32(): number {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++]!;
  }
}

const generator = new V7Generator(new PooledCryptoRandom());
// The package resets its state when the clock steps back more than 10 s, and the ids after
// that sort before those already made. Never reset: after any step back the ids keep the last
// millisecond and count on, as uuid's v7 did, until the clock passes it again.
generator.setRollbackAllowance(2 ** 48 - 1);

/**
 * A new UUIDv7 (RFC 9562), lower case: commands, aggregates, outbox rows, emails, deliveries,
 * attempts. Ids made by one process sort in the order they were made, within a millisecond
 * too (a counter, RFC 9562 §6.2 method 1) and across a step back of the clock, which the
 * relay's `order by id` and the lists' keyset pages rely on. The last 32 bits are random.
 */
export function uuidv7(): string {
  return generator.generate().toString();
}
