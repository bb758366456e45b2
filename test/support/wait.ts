// Waiting in tests: a plain pause and a poll with a deadline.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value, and returns that value.
 * Past `timeoutMs` it throws "timed out waiting for <what>"; `what` may be a function, asked
 * only then, that describes where things stand (row counts, process output …).
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 15_000,
  what: string | (() => string | Promise<string>) = 'condition',
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : await what()}`);
    }
    await sleep(intervalMs);
  }
}

/** Like `waitFor` (polling every 200 ms), but returns how long the wait took in ms: a figure for the fault reports. */
export async function within(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  describe?: () => Promise<string> | string,
): Promise<number> {
  const started = Date.now();
  await waitFor(probe, timeoutMs, describe ? async () => `${what}: ${await describe()}` : what, 200);
  return Date.now() - started;
}
