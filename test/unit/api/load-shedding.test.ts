import { describe, expect, it } from 'vitest';
import { CommandCeiling, QUEUE_DEPTH_REFRESH_MS } from '../../../src/api/load-shedding.js';
import type { QueueDepth } from '../../../src/api/ports.js';

/** A queue depth that counts how often it was read, and a clock the test moves. */
function fixture(initial: number) {
  const state = { depth: initial, reads: 0, failing: false, now: 0 };
  const depth: QueueDepth = {
    async queuedCommands() {
      state.reads += 1;
      if (state.failing) throw new Error('Connection is closed.');
      return state.depth;
    },
  };
  return { state, depth, now: () => state.now };
}

describe('CommandCeiling (MAX_QUEUED_COMMANDS)', () => {
  it('is full from `max` queued commands on, and not below', async () => {
    const { state, depth, now } = fixture(99);
    const ceiling = new CommandCeiling(depth, 100, now);
    expect(await ceiling.isFull()).toBe(false);
    state.depth = 100;
    state.now += QUEUE_DEPTH_REFRESH_MS;
    expect(await ceiling.isFull()).toBe(true);
  });

  it(`reads the queue depth once per ${QUEUE_DEPTH_REFRESH_MS} ms however many requests arrive, concurrent ones sharing the read`, async () => {
    const { state, depth, now } = fixture(5);
    const ceiling = new CommandCeiling(depth, 10, now);
    await Promise.all(Array.from({ length: 100 }, () => ceiling.isFull()));
    expect(state.reads).toBe(1);

    state.depth = 10;
    state.now += QUEUE_DEPTH_REFRESH_MS - 1;
    // Still the count of a moment ago: the ceiling lags by up to the refresh interval.
    expect(await ceiling.isFull()).toBe(false);
    expect(state.reads).toBe(1);

    state.now += 1;
    expect(await ceiling.isFull()).toBe(true);
    expect(state.reads).toBe(2);
  });

  it('keeps the last count while the queue cannot be read, and does not retry on every request', async () => {
    const { state, depth, now } = fixture(10);
    const ceiling = new CommandCeiling(depth, 10, now);
    expect(await ceiling.isFull()).toBe(true);
    state.failing = true;
    state.now += QUEUE_DEPTH_REFRESH_MS;
    expect(await ceiling.isFull()).toBe(true);
    expect(await ceiling.isFull()).toBe(true);
    expect(state.reads).toBe(2);
    state.failing = false;
    state.depth = 0;
    state.now += QUEUE_DEPTH_REFRESH_MS;
    expect(await ceiling.isFull()).toBe(false);
  });

  it('0 means no ceiling: the queue is never counted', async () => {
    const { state, depth, now } = fixture(1_000_000);
    const ceiling = new CommandCeiling(depth, 0, now);
    expect(await ceiling.isFull()).toBe(false);
    expect(state.reads).toBe(0);
  });
});
